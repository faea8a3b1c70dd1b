"""The Dockerfile and .dockerignore keep their promises, read as text: no container engine."""

import fnmatch
import json
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
GUNICORN_CONFIG = "otpsite/gunicorn.conf.py"


@dataclass
class Instruction:
    keyword: str
    arguments: str


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction]

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def parse_instructions(text: str) -> list[Instruction]:
    """Instructions in order, with backslash continuations joined and comment lines dropped."""
    instructions, pending = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        # Comment lines are dropped even inside a continuation, as Docker does.
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        instructions.append(Instruction(keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a line continuation"
    return instructions


def split_stages(instructions: list[Instruction]) -> tuple[list[Instruction], list[Stage]]:
    """The instructions before the first FROM (global ARGs) and the stages that follow."""
    preamble: list[Instruction] = []
    stages: list[Stage] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            words = [w for w in instruction.arguments.split() if not w.startswith("--")]
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name, []))
        elif stages:
            stages[-1].instructions.append(instruction)
        else:
            preamble.append(instruction)
    return preamble, stages


def dockerfile() -> tuple[list[Instruction], list[Stage]]:
    return split_stages(parse_instructions(DOCKERFILE.read_text()))


def final_stage() -> Stage:
    return dockerfile()[1][-1]


def exec_form(arguments: str) -> list[str]:
    """The JSON array of an exec-form CMD; fails the test for the shell form."""
    assert arguments.startswith("["), f"not exec form (a JSON array): {arguments}"
    parsed = json.loads(arguments)
    assert isinstance(parsed, list), arguments
    assert all(isinstance(word, str) for word in parsed), arguments
    return parsed


def option_free(arguments: str) -> list[str]:
    """The words of a COPY/ADD/FROM line without its --options."""
    return [w for w in shlex.split(arguments) if not w.startswith("--")]


def env_names(stage: Stage) -> dict[str, str]:
    names = {}
    for instruction in stage.all("ENV"):
        for word in shlex.split(instruction.arguments):
            name, _, value = word.partition("=")
            names[name] = value
    return names


def test_base_image_is_a_build_arg_defaulting_to_the_official_python_of_the_tests():
    preamble, stages = dockerfile()
    defaults = {}
    for instruction in preamble:
        if instruction.keyword == "ARG":
            name, _, value = instruction.arguments.partition("=")
            defaults[name] = value.strip("\"'")
    stage_names = {stage.name for stage in stages}
    for stage in stages:
        if stage.base in stage_names:
            continue
        match = re.fullmatch(r"\$\{?(\w+)\}?", stage.base)
        assert match, f"FROM {stage.base} is not a build ARG"
        assert match.group(1) in defaults, f"{match.group(1)} is not an ARG before the first FROM"
        minor = f"{sys.version_info.major}.{sys.version_info.minor}"
        assert defaults[match.group(1)] == f"python:{minor}-slim-bookworm"


def test_image_is_multi_stage_and_the_runtime_copies_the_builder_venv():
    _, stages = dockerfile()
    assert len(stages) >= 2
    builder_names = {stage.name for stage in stages[:-1]} - {None}
    copied_from = {
        match.group(1)
        for instruction in final_stage().all("COPY")
        if (match := re.search(r"--from=(\S+)", instruction.arguments))
    }
    assert copied_from & builder_names, "the final stage copies nothing from an earlier stage"
    runtime_runs = [i.arguments for i in final_stage().all("RUN")]
    assert not [r for r in runtime_runs if "pip install" in r], "the runtime installs packages"


def test_final_stage_runs_as_a_fixed_non_root_numeric_uid():
    users = final_stage().all("USER")
    assert users, "the final stage has no USER: it would run as root"
    user = users[-1].arguments
    assert re.fullmatch(r"\d+(:\d+)?", user), f"USER {user} is not numeric (uid or uid:gid)"
    uid, _, gid = user.partition(":")
    assert int(uid) != 0
    assert gid == "" or int(gid) != 0


def test_healthcheck_requests_health_with_python_and_no_extra_tools():
    checks = final_stage().all("HEALTHCHECK")
    assert len(checks) == 1
    options, _, command = checks[0].arguments.partition("CMD ")
    assert command, "HEALTHCHECK has no CMD"
    words = exec_form(command.strip())
    assert re.search(r"(^|/)python3?$", words[0]), f"health check runs {words[0]}, not python"
    assert "/health" in " ".join(words)
    assert not {"curl", "wget"} & set(re.findall(r"[\w-]+", " ".join(words)))
    assert "--timeout=" in options


def test_cmd_is_exec_form_gunicorn_with_the_project_config():
    commands = final_stage().all("CMD")
    assert commands, "the final stage has no CMD"
    assert exec_form(commands[-1].arguments) == ["gunicorn", "-c", GUNICORN_CONFIG]
    assert (ROOT / GUNICORN_CONFIG).is_file()
    assert not final_stage().all("ENTRYPOINT"), "an ENTRYPOINT would wrap the gunicorn CMD"


def test_no_instruction_copies_an_env_file_or_sets_a_secret():
    _, stages = dockerfile()
    for stage in stages:
        for instruction in stage.all("COPY") + stage.all("ADD"):
            sources = option_free(instruction.arguments)[:-1]
            assert not [s for s in sources if Path(s).name.startswith(".env")], instruction
        for instruction in stage.all("ENV") + stage.all("ARG"):
            assert not re.search(r"\b(API_KEY|OTP_SECRET)\b", instruction.arguments), instruction


def test_python_writes_no_bytecode_and_does_not_buffer_output():
    names = env_names(final_stage())
    assert names.get("PYTHONDONTWRITEBYTECODE") == "1"
    assert names.get("PYTHONUNBUFFERED") == "1"


def test_exposes_the_gunicorn_port():
    assert [i.arguments for i in final_stage().all("EXPOSE")] == ["8000"]


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore leaves `path` out of the context: the last matching line decides.

    Close enough to Docker's rules for the plain patterns used here; fnmatch's `*` also crosses /.
    """
    result = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        candidates = [pattern, pattern.removeprefix("**/")]
        # A pattern that names a folder also leaves out everything inside it.
        parts = path.split("/")
        prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        if any(fnmatch.fnmatchcase(p, c) for p in prefixes for c in candidates):
            result = not negated
    return result


def test_dockerignore_keeps_env_files_venv_and_git_out_of_the_context():
    lines = [line.strip() for line in DOCKERIGNORE.read_text().splitlines()]
    patterns = [line for line in lines if line and not line.startswith("#")]
    for path in [".env", ".env.local", ".venv/bin/python", ".git/config", "var/otp.sqlite3"]:
        assert ignored(path, patterns), f"{path} would be sent to the build"
    for path in ["manage.py", "requirements.txt", "otpsite/settings.py", "otp/api/views.py"]:
        assert not ignored(path, patterns), f"{path} is needed by the build but ignored"
