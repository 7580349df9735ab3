"""The README's commands and snippets, and the examples, stay true."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _bash_blocks():
    return re.findall(r"```bash\n(.*?)\n```", README, flags=re.S)


def _python_blocks():
    return re.findall(r"```python\n(.*?)\n```", README, flags=re.S)


def test_readme_opens_with_the_two_commands():
    blocks = _bash_blocks()
    assert len(blocks) >= 2
    run_cmd, test_cmd = blocks[0].strip(), blocks[1].strip()
    assert "pip install ." in run_cmd and "ml4t run examples/sma_crossover.py" in run_cmd
    assert 'pip install -e ".[test]"' in test_cmd and "pytest" in test_cmd
    # both commands come before any other section of the README
    assert README.index(run_cmd) < README.index("## ")


def test_ci_runs_the_readme_test_command_verbatim():
    test_cmd = _bash_blocks()[1].strip()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_cmd in [line.strip() for line in ci]


def test_readme_python_snippet_runs(tmp_path):
    code = _python_blocks()[0]
    script = tmp_path / "snippet.py"
    script.write_text(code + "\nassert result.metrics['final_value'] > 0\n"
                      "assert len(result.fills) > 0\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "Final value" in out.stdout


def test_margin_call_example_runs(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "margin_call.py"), "--out",
                          str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "margin calls" in out.stdout
    assert (tmp_path / "margin_call.png").stat().st_size > 10_000
    n_calls = int(re.search(r"(\d+) margin calls", out.stdout).group(1))
    assert n_calls > 0


def test_futures_roll_example_runs(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "futures_roll.py"), "--out",
                          str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "rolls:" in out.stdout and "ESH24    ESM24" in out.stdout
    assert "ESM24    ESU24" in out.stdout
    assert (tmp_path / "futures_roll.png").stat().st_size > 10_000


def test_sma_example_runs_as_a_script(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "sma_crossover.py")],
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "Total return" in out.stdout
    assert (tmp_path / "results" / "sma_crossover" / "run_manifest.json").exists()
