"""Test support: real servers (moto, redis-server, PostgreSQL) on free loopback ports."""
