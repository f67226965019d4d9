"""Rule parsing, RuleError messages and matching of single targets."""

from __future__ import annotations

import pytest

from kode.core.permissions import Rule, RuleError


@pytest.mark.parametrize(
    ("text", "name", "pattern"),
    [
        ("bash", "bash", None),
        ("bash(git status*)", "bash", "git status*"),
        ("edit(src/**)", "edit", "src/**"),
        ("read(secrets/**)", "read", "secrets/**"),
        ("write_file(*.md)", "write_file", "*.md"),
        ("mcp__github__create_issue", "mcp__github__create_issue", None),
        ("  bash( git status* )  ", "bash", "git status*"),
        ("Bash(ls*)", "bash", "ls*"),  # kind names in any case
        ("EDIT", "edit", None),
        ("bash(echo (a) b)", "bash", "echo (a) b"),  # parentheses inside a pattern
        ("bash(git diff:*)", "bash", "git diff:*"),
    ],
)
def test_parse(text: str, name: str, pattern: str | None) -> None:
    rule = Rule.parse(text)
    assert (rule.name, rule.pattern) == (name, pattern)
    assert Rule.parse(str(rule)) == rule


def test_tool_names_keep_their_case_and_rules_compare_by_text() -> None:
    assert Rule.parse("My_Tool").name == "My_Tool"
    assert Rule.parse("bash(ls*)") == Rule.parse("Bash( ls* )")
    assert len({Rule.parse("bash(ls*)"), Rule.parse("bash(ls*)"), Rule.parse("bash")}) == 2
    assert repr(Rule.parse("edit(src/**)")) == "Rule('edit(src/**)')"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "the rule is empty"),
        ("   ", "the rule is empty"),
        ("bash(git status", "missing closing ')'"),
        ("bash(ls) extra", "unexpected text after the closing ')'"),
        ("bash()", "empty pattern; write `bash` alone to match every call"),
        ("bash(   )", "empty pattern"),
        ("(ls)", "the rule has no name"),
        ("my tool(x)", "'my tool' is not a tool name; use bash, edit, read or a tool's exact name"),
        ("bash)", "is not a tool name"),
        ("edit(!src/**)", "negated patterns are not supported"),
        ("edit(\\)", "not a valid gitignore-style path pattern"),
        ("read([)", "not a valid gitignore-style path pattern"),
        ("bash(ls\x00)", "control characters"),
    ],
)
def test_rule_errors_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(RuleError) as caught:
        Rule.parse(text)
    assert problem in str(caught.value)
    assert caught.value.rule == text
    assert str(caught.value).startswith(f"invalid permission rule {text!r}: ")
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("pattern", "command", "matches"),
    [
        ("git status*", "git status", True),
        ("git status*", "git status -s", True),
        ("git status*", "git status --porcelain --branch", True),
        ("git status*", "git stat", False),
        ("git status*", "xgit status", False),
        ("git status", "git status", True),
        ("git status", "git status -s", False),
        ("* --help", "anything at all --help", True),
        ("echo*", "echo a\nb", True),  # `*` matches newlines inside quoted arguments too
        ("ls \\*.py", "ls *.py", True),  # escaped star is literal
        ("ls \\*.py", "ls a.py", False),
        ("git diff:*", "git diff", True),
        ("git diff:*", "git diff HEAD~1", True),
        ("git diff:*", "git diff-tree x", False),
        ("echo [x]?", "echo [x]?", True),  # only `*` is special
        ("echo [x]?", "echo x1", False),
    ],
)
def test_command_glob(pattern: str, command: str, matches: bool) -> None:
    assert Rule("bash", pattern).matches_command(command) is matches


def test_literal_is_the_pattern_without_wildcards() -> None:
    assert Rule.parse("bash(git status && ls)").literal == "git status && ls"
    assert Rule.parse("bash(ls \\*.py)").literal == "ls *.py"
    assert Rule.parse("bash(ls*)").literal is None
    assert Rule.parse("bash(git diff:*)").literal is None
    assert Rule.parse("bash").literal is None


def test_suffix_matching_starts_at_a_word() -> None:
    rule = Rule.parse("bash(rm *)")
    assert rule.matches_command_suffix("sudo -u x rm -rf y")
    assert not rule.matches_command_suffix("farm -rf y")
    assert not rule.matches_command_suffix("rm")


def test_allows_command_needs_a_redirect_in_the_pattern_for_writes() -> None:
    loose, explicit = Rule.parse("bash(git status*)"), Rule.parse("bash(git status > *)")
    assert not loose.allows_command("git status > out.txt", writes=True)
    assert explicit.allows_command("git status > out.txt", writes=True)
    assert loose.allows_command("git status", writes=False)
    assert Rule.parse("bash").allows_command("anything > out", writes=True)


def test_allows_command_with_appended_arguments() -> None:
    sentinel = "grep foo \x00"
    assert Rule.parse("bash(grep foo*)").allows_command("grep foo", writes=False, open_text=sentinel)
    assert not Rule.parse("bash(grep foo)").allows_command("grep foo", writes=False, open_text=sentinel)


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("src/**", "src/a.py", True),
        ("src/**", "src/pkg/deep/a.py", True),
        ("src/**", "lib/src/a.py", False),
        ("src/**", "src", False),
        ("src/", "src/a.py", True),
        ("*.py", "a.py", True),
        ("*.py", "pkg/a.py", True),
        ("*.py", "a.pyc", False),
        ("docs/*.md", "docs/a.md", True),
        ("docs/*.md", "docs/x/a.md", False),
        ("/README.md", "README.md", True),
        ("/README.md", "docs/README.md", False),
        ("**/.env", "a/b/.env", True),
        ("secrets/**", "secrets/key.pem", True),
    ],
)
def test_path_patterns_are_gitignore_style(pattern: str, path: str, matches: bool) -> None:
    assert Rule("edit", pattern).matches_path(path) is matches


def test_empty_path_matches_only_rules_without_pattern() -> None:
    assert not Rule.parse("edit(**)").matches_path("")
    assert Rule.parse("edit").matches_path("")


@pytest.mark.parametrize(
    ("rule", "tool", "kind", "applies"),
    [
        ("bash", "bash", "bash", True),
        ("bash", "shell", "bash", True),  # kind names cover every tool of the kind
        ("edit", "write_file", "edit", True),
        ("edit", "edit_file", "edit", True),
        ("edit", "read_file", "read", False),
        ("read", "grep", "read", True),
        ("read", "bash", "bash", False),
        ("write_file(*.md)", "write_file", "edit", True),
        ("write_file(*.md)", "edit_file", "edit", False),
        ("mcp__github__create_issue", "mcp__github__create_issue", "other", True),
        ("mcp__github__create_issue", "mcp__github__list_issues", "other", False),
    ],
)
def test_applies_to(rule: str, tool: str, kind: str, applies: bool) -> None:
    assert Rule.parse(rule).applies_to(tool, kind) is applies  # type: ignore[arg-type]
