"""Bad input: a clear error with a stable code, a non-zero exit, and nothing written."""

from __future__ import annotations


def test_missing_command(cli):
    r = cli("run")
    assert r.returncode == 64
    assert b"RC-USAGE-002" in r.stderr and b"--" in r.stderr
    assert not (cli.root / "data" / "rclaude.db").exists()


def test_unknown_task(cli):
    r = cli("status", "no-such-task")
    assert r.returncode == 66
    assert b"RC-TASK-001" in r.stderr and b"no-such-task" in r.stderr
    assert b"Traceback" not in r.stderr


def test_unknown_config_key_names_key_file_line_and_closest(cli):
    (cli.project / ".rclaude.yaml").write_text(
        "backend: aws\naws:\n  mode: ec2\n  ec2:\n    instanceTyp: t3.large\n"
    )
    r = cli("run", "--", "true")
    assert r.returncode == 78
    err = r.stderr.decode()
    assert "instanceTyp" in err and "instanceType" in err and ".rclaude.yaml:5" in err
    assert not (cli.root / "data" / "rclaude.db").exists()


def test_wrong_aws_mode_lists_valid_modes(cli):
    r = cli("run", "--aws-mode", "ecx", "--", "true")
    assert r.returncode == 78
    err = r.stderr.decode()
    for mode in ("ec2", "ecs", "shared", "fargate"):
        assert mode in err
    assert not (cli.root / "data" / "rclaude.db").exists()


def test_bad_env_pair(cli):
    r = cli("run", "-e", "NOEQUALS", "--", "true")
    assert r.returncode == 64 and b"KEY=VALUE" in r.stderr


def test_debug_shows_traceback(cli):
    r = cli("--debug", "status", "nope")
    assert r.returncode == 66 and b"Traceback" in r.stderr


def test_negative_redis_max_len_is_refused_with_file_and_line(cli):
    (cli.project / ".rclaude.yaml").write_text("log: redis\nredis:\n  maxLen: -1\n")
    r = cli("run", "--", "true")
    assert r.returncode == 78
    err = r.stderr.decode()
    assert "maxLen" in err and ".rclaude.yaml:3" in err and "Traceback" not in err
    assert not (cli.root / "data" / "rclaude.db").exists()
