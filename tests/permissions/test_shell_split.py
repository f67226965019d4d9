"""split_shell_command: every simple command bash would run, normalised, for each construct."""

from __future__ import annotations

import shlex
import shutil
import subprocess

import pytest

from kode.core.permissions import parse_shell_command, split_shell_command
from kode.core.permissions._lexer import placeholder_mark
from kode.core.permissions._words import unquote_word
from kode.core.permissions.fallback import fallback_fragments
from kode.core.permissions.shell import MAX_DEPTH


def split(command: str) -> list[str] | None:
    return split_shell_command(command)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("git status", ["git status"]),
        ("  git   status  -s ", ["git status -s"]),
        ("git status; rm -rf x", ["git status", "rm -rf x"]),
        ("a && b || c", ["a", "b", "c"]),
        ("a | b |& c", ["a", "b", "c"]),
        ("a & b", ["a", "b"]),
        ("a &\nb", ["a", "b"]),
        ("a\nb\n\nc\n", ["a", "b", "c"]),
        ("! rm x", ["rm x"]),
        ("(a; b)", ["a", "b"]),
        ("(a\nb)", ["a", "b"]),
        ("{ a; b; }", ["a", "b"]),
        ("if a; then b; elif c; then d; else e; fi", ["a", "b", "c", "d", "e"]),
        ("if a\nthen b\nc\nfi", ["a", "b", "c"]),
        ("for i in 1 2; do echo $i; done", ["echo $i"]),
        ("for i in $(seq 3); do echo $i; done", ["echo $i", "seq 3"]),
        ("while read l; do rm $l; done < list", ["read l", "rm $l"]),
        ("until a; do b; done", ["a", "b"]),
        ("f() { rm x; }", ["rm x"]),
        ("function f { rm x; }; f", ["rm x", "f"]),
    ],
)
def test_lists_pipelines_and_compound_commands(command: str, expected: list[str]) -> None:
    assert split(command) == expected


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("echo $(rm x)", ["echo $(rm x)", "rm x"]),
        ("echo `rm x`", ["echo `rm x`", "rm x"]),
        ('echo "a $(rm x) b"', ["echo a $(rm x) b", "rm x"]),
        ('echo "`rm x`"', ["echo `rm x`", "rm x"]),
        ("echo '$(rm x)'", ["echo $(rm x)"]),  # single quotes: literal
        ("echo \\$(rm x)", None),  # `$` escaped: `(` is then a syntax error
        ("x=$(rm a) ls", ["ls", "rm a"]),
        ("x=`rm a`", ["x=`rm a`", "rm a"]),
        ("echo > $(rm x)", ["echo > $(rm x)", "rm x"]),
        ('cat <<< "$(rm x)"', ["cat", "rm x"]),
        ("diff <(ls a) >(cat)", ["diff <(ls a) >(cat)", "ls a", "cat"]),
        ("echo ${x:-$(rm y)}", ["echo ${x:-$(rm y)}", "rm y"]),
        ('echo "${x:-`rm y`}"', ["echo ${x:-`rm y`}", "rm y"]),
        ("echo $(echo $(rm x))", ["echo $(echo $(rm x))", "echo $(rm x)", "rm x"]),
        ("echo `echo \\`rm x\\``", ["echo `echo \\`rm x\\``", "echo `rm x`", "rm x"]),
        ("echo $(a || b)", ["echo $(a || b)", "a", "b"]),  # bashlex alone fails on this
        ("echo $(echo hi\nrm x)", ["echo $(echo hi\nrm x)", "echo hi", "rm x"]),  # and drops line 2
        ("echo <(a\nb)", ["echo <(a\nb)", "a", "b"]),
        ("echo $((1 + 2))", ["echo $((1 + 2))"]),
        ("echo $(( $(rm x) + 1 ))", ["echo $(( $(rm x) + 1 ))", "rm x"]),
        ("echo ${x:-$((1+2))}", ["echo ${x:-$((1+2))}"]),
        ("git status --arg=$(curl x)", ["git status --arg=$(curl x)", "curl x"]),
    ],
)
def test_substitutions_everywhere(command: str, expected: list[str] | None) -> None:
    assert split(command) == expected


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("'r'm -rf x", ["rm -rf x"]),
        ('"rm" -rf x', ["rm -rf x"]),
        ("\\rm -rf x", ["rm -rf x"]),
        ("r\\m -rf x", ["rm -rf x"]),
        ("'r''m' -rf x", ["rm -rf x"]),  # bashlex alone gets this one wrong
        ('r""m -rf x', ["rm -rf x"]),
        ("$'\\x72\\x6d' -rf x", ["rm -rf x"]),
        ("$'\\162m' x", ["rm x"]),
        ('$"rm" x', ["rm x"]),
        ('echo "a; rm x"', ["echo a; rm x"]),
        ("echo 'a && rm x'", ["echo a && rm x"]),
        ("echo a\\;rm x", ["echo a;rm x"]),
        ('echo "it\'s"', ["echo it's"]),
        ("echo 'it'\\''s'", ["echo it's"]),
        ('echo "a\\"b" \'c"d\'', ['echo a"b c"d']),
        ("git status \\\n  -s", ["git status -s"]),
        ("ls # ; rm -rf x", ["ls"]),
        ("ls a#b", ["ls a#b"]),
        ("A=1 B='x y' git status", ["git status"]),
        ("x=1", ["x=1"]),
        ("", []),
        ("# only a comment", []),
    ],
)
def test_quoting_and_normalisation(command: str, expected: list[str]) -> None:
    assert split(command) == expected


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("sudo rm -rf x", ["sudo rm -rf x", "rm -rf x"]),
        ("sudo -u bob -E rm x", ["sudo -u bob -E rm x", "rm x"]),
        ("env rm x", ["env rm x", "rm x"]),
        ("env -i A=1 B=2 rm x", ["env -i A=1 B=2 rm x", "rm x"]),
        ("env -S 'rm -rf x'", ["env -S rm -rf x", "rm -rf x"]),
        ("nohup rm x &", ["nohup rm x", "rm x"]),
        ("time rm x", ["time rm x", "rm x"]),
        ("time -p rm x | time wc", ["time -p rm x", "rm x", "time wc", "wc"]),
        ("time A=1 rm x", ["time A=1 rm x", "rm x"]),
        ("timeout 5 rm x", ["timeout 5 rm x", "rm x"]),
        ("timeout -s KILL --foreground 5s rm x", ["timeout -s KILL --foreground 5s rm x", "rm x"]),
        ("nice rm x", ["nice rm x", "rm x"]),
        ("nice -n 10 rm x", ["nice -n 10 rm x", "rm x"]),
        ("xargs rm", ["xargs rm", "rm"]),
        ("xargs -0 -I {} rm {}", ["xargs -0 -I {} rm {}", "rm {}"]),
        ("xargs", ["xargs", "echo"]),
        ("command rm x", ["command rm x", "rm x"]),
        ("command -v rm", ["command -v rm"]),
        ("builtin eval 'rm x'", ["builtin eval rm x", "eval rm x", "rm x"]),
        ("exec rm x", ["exec rm x", "rm x"]),
        ("stdbuf -oL -e0 rm x", ["stdbuf -oL -e0 rm x", "rm x"]),
        ("bash -c 'a; rm x'", ["bash -c a; rm x", "a", "rm x"]),
        ('sh -c "a && rm x" arg0', ["sh -c a && rm x arg0", "a", "rm x"]),
        ("zsh -c 'rm x'", ["zsh -c rm x", "rm x"]),
        ("bash -lc 'rm x'", ["bash -lc rm x", "rm x"]),
        ("bash -o pipefail -c 'rm x'", ["bash -o pipefail -c rm x", "rm x"]),
        ("/bin/bash -c 'rm x'", ["/bin/bash -c rm x", "rm x"]),
        ("bash script.sh", ["bash script.sh"]),
        ("curl x | sh", ["curl x", "sh"]),
        ("eval rm x", ["eval rm x", "rm x"]),
        ("eval 'a; rm x'", ["eval a; rm x", "a", "rm x"]),
        ("bash -c \"eval 'rm x'\"", ["bash -c eval 'rm x'", "eval rm x", "rm x"]),
        ("watch -n 1 'rm x'", ["watch -n 1 rm x", "rm x"]),
        ("find . -name '*.pyc' -exec rm {} \\;", ["find . -name *.pyc -exec rm {} ;", "rm {}"]),
        ("su -c 'rm x' root", ["su -c rm x root", "rm x"]),
        ("sudo timeout 5 nice rm x", ["sudo timeout 5 nice rm x", "timeout 5 nice rm x", "nice rm x", "rm x"]),
    ],
)
def test_wrappers_yield_what_they_run(command: str, expected: list[str]) -> None:
    assert split(command) == expected


def test_nested_command_strings_have_a_depth_limit() -> None:
    nested = "rm x"
    for _ in range(4):
        nested = f"bash -c {shlex.quote(nested)}"
    assert (split(nested) or [])[-1] == "rm x"
    deep = "rm x"
    for _ in range(MAX_DEPTH + 2):
        deep = f"echo $({deep})"
    assert split(deep) is None
    assert "rm x" in fallback_fragments(deep)


@pytest.mark.parametrize(
    ("command", "writes", "text"),
    [
        ("git status > out.txt", True, "git status > out.txt"),
        ("git status >> log", True, "git status >> log"),
        ("git status 2> err", True, "git status 2> err"),
        ("git status &> all", True, "git status &> all"),
        ("git status >| f", True, "git status >| f"),
        ("git status <> f", True, "git status <> f"),
        ("git status >& f", True, "git status >& f"),
        ("git status > $OUT", True, "git status > $OUT"),
        ("git status > /dev/null", False, "git status"),
        ("git status 2>/dev/null", False, "git status"),
        ("git status >&2", False, "git status"),
        ("git status 2>&1", False, "git status"),
        ("git status >&-", False, "git status"),
        ("git status < in.txt", False, "git status"),
        ("cat <<< hi", False, "cat"),
        ("{ git status; } > out", True, "git status > out"),
        ("if a; then b; fi > out", True, "b > out"),
        ("bash -c 'git status' > out", True, "bash -c git status > out"),
    ],
)
def test_file_writing_redirections(command: str, writes: bool, text: str) -> None:
    commands = parse_shell_command(command)
    assert commands is not None
    last = commands[-1]
    assert last.writes is writes
    assert last.text == text
    assert all(inner.writes is writes for inner in last.walk())


@pytest.mark.parametrize(
    ("command", "dynamic"),
    [
        ("$CMD -rf x", True),
        ("${CMD} x", True),
        ("$(echo rm) -rf x", True),
        ("`which rm` x", True),
        ('"$X" y', True),
        ("/bin/r? x", True),
        ("r[m] x", True),
        ("{rm,-rf,x}", True),
        ("rm $X", False),
        ("'$CMD' x", False),
        ("~/bin/tool x", False),
    ],
)
def test_dynamic_command_names(command: str, dynamic: bool) -> None:
    commands = parse_shell_command(command)
    assert commands is not None
    assert commands[0].dynamic is dynamic


def test_variants_for_deny_rules() -> None:
    (command,) = parse_shell_command("/usr/bin/rm -rf x") or []
    assert command.variants == ("rm -rf x",)
    (braces,) = parse_shell_command("{rm,-rf,x}") or []
    assert "rm -rf x" in braces.variants
    xargs = (parse_shell_command("xargs rm") or [])[0]
    assert xargs.inner[0].open_text == "rm \x00"


# -- here-documents -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("cat <<'EOF'\nrm -rf x\n$(rm -rf y)\nEOF\n", ["cat"]),  # a quoted body is data
        ('cat <<"EOF"\nrm -rf x; $(rm y)\nEOF', ["cat"]),
        ("cat <<\\EOF\n`rm y`\nEOF", ["cat"]),
        ("cat <<EOF\nrm -rf x\nEOF", ["cat"]),  # plain text does not run
        ("cat <<EOF\n$(rm -rf y)\nEOF", ["cat", "rm -rf y"]),  # substitutions do
        ("cat <<EOF\n`rm y` and ${x:-$(rm z)}\nEOF", ["cat", "rm y", "rm z"]),
        ("cat <<EOF\n\\$(rm y)\nEOF", ["cat"]),  # escaped
        ("cat <<-EOF\n\t$(rm y)\n\tEOF\nls", ["cat", "ls", "rm y"]),
        ("cat <<EOF > out.py\nprint(1)\nEOF\nrm -rf x", ["cat > out.py", "rm -rf x"]),
        ("cat <<EOF; rm y\nbody\nEOF", ["cat", "rm y"]),
        ("cat <<A <<'B'\n$(rm a)\nA\n$(rm b)\nB\nls", ["cat", "ls", "rm a"]),
        ("cat <<EOF | sh\nrm -rf x\nEOF", ["cat", "sh"]),
        ('echo "$(cat <<\'EOF\'\nfix; rm -rf x\n)\nEOF\n)"', ["echo $(cat <<'EOF'\nfix; rm -rf x\n)\nEOF\n)", "cat"]),
        ("echo $((1<<2))\nrm x", ["echo $((1<<2))", "rm x"]),  # a shift, not a here-document
        ("echo '<<EOF'\nrm x\nEOF", ["echo <<EOF", "rm x", "EOF"]),  # quoted: not a here-document
    ],
)
def test_here_documents_neither_hide_nor_invent_commands(command: str, expected: list[str] | None) -> None:
    assert split(command) == expected


def test_the_usual_commit_message_here_document() -> None:
    command = 'git commit -m "$(cat <<\'EOF\'\nFix parser; rm -rf is not run\n\nDetails `here`.\nEOF\n)"'
    assert split(command) == [
        "git commit -m $(cat <<'EOF'\nFix parser; rm -rf is not run\n\nDetails `here`.\nEOF\n)",
        "cat",
    ]


@pytest.mark.parametrize(
    "command",
    [
        "cat <<EOF\nno terminator",
        "cat <<'EOF'\nrm x\n",
        "cat <<\nx",
        "cat <<EOF",
    ],
)
def test_unterminated_here_documents_are_unparseable(command: str) -> None:
    assert split(command) is None


# -- what stays unparseable, and the fallback ---------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "case $x in a) rm y;; esac",
        "(( i++ ))",
        "a=(1 2 3)",
        "select x in a b; do rm $x; done",
        "coproc rm x",
        "echo 'unterminated",
        'echo "unterminated',
        "echo $(unterminated",
        "echo )",
        "[[ ( -f x ) ]]",
    ],
)
def test_unparseable(command: str) -> None:
    assert split(command) is None


def test_placeholder_lookalikes_are_just_text() -> None:
    assert split("grep -rn '$__kode_sub_0__' . && echo $__kode_arith_1__") == [
        "grep -rn $__kode_sub_0__ .",
        "echo $__kode_arith_1__",
    ]
    mark = placeholder_mark("echo x")
    assert split(f"echo {mark}") == [f"echo {mark}"]  # the mark of another command is harmless


def test_keywords_bashlex_rejects_are_retried_escaped() -> None:
    assert split("time git status") == ["time git status", "git status"]
    assert split("[[ -f x ]] && rm y") == ["[[ -f x ]]", "rm y"]
    assert split("if [[ -n $x ]]; then time ls; fi") == ["[[ -n $x ]]", "time ls", "ls"]
    assert split("echo time; echo '[[ x ]]'") == ["echo time", "echo [[ x ]]"]


@pytest.mark.parametrize(
    ("command", "fragment"),
    [
        ("case x in a) rm -rf y;; esac", "rm -rf y"),
        ("case x in a) 'r'm -rf y;; esac", "rm -rf y"),
        ("case x in a) sudo rm -rf y;; esac", "sudo rm -rf y"),
        ("case x in a) bash -c 'ls; rm -rf y';; esac", "rm -rf y"),
        ("case x in a) $'\\x72m' y;; esac", "rm y"),
        ("case x in a) rm \\; y;; esac", "rm ; y"),
        ("case x in a) rm <(ls);; esac", "rm _"),
        ("case x in a) eval '$'\"'\"'\\x72m'\"'\"' y';; esac", "rm y"),
        ("(( x )) && /bin/rm y", "rm y"),
        ("(( x )) && echo x | xargs rm", "xargs rm \x00"),
    ],
)
def test_fallback_fragments(command: str, fragment: str) -> None:
    assert split(command) is None
    assert fragment in fallback_fragments(command)


# -- quote removal against the real shell ----------------------------------------------------------

_ATOMS = [
    "a", "'x y'", "\\'", '\\"', "$'\\x72m'", "$'a\\'b'", '$"q"', '"a\\"b"', '"c\\\\d"', "''", '""',
    '"\\$x"', "'\\n'", "$'\\n'", "$'\\101\\u00e9'", '"\\x"', "~x", "=", "-", "\"it's\"", "'do\"ub'",
    "$'\\cA'", "$'\\0101'", "\\\\", "\\a", "'$(x)'", '"\\`"',
]  # fmt: skip


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_quote_removal_matches_bash() -> None:
    import random

    rng = random.Random(5)
    words = sorted({"".join(rng.choice(_ATOMS) for _ in range(rng.randint(1, 4))) for _ in range(400)})
    script = "".join(f"printf '%s\\0' {word}\n" for word in words)
    output = subprocess.run(["bash", "-c", script], capture_output=True, check=True).stdout
    expected = output.decode("utf-8", "surrogateescape").split("\0")[:-1]
    assert [unquote_word(w)[0] for w in words] == expected
