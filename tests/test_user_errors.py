"""How the commands report errors (jaxgan/core/user_errors.py): jaxgan's own user errors as one
line, a module that is not installed as a broken installation naming it, anything else (a
library's ValueError included) with its traceback."""
import pytest

from jaxgan import losses
from jaxgan.core import errors, user_errors
from jaxgan.data import sources


def _report(fn):
  with pytest.raises(SystemExit) as stopped:
    user_errors.run_reporting(fn)
  return stopped.value.code


def test_a_user_error_is_one_line_and_status_1(caplog):
  def command():
    raise sources.DataUnavailableError("config.dataset.local_dir='/nowhere' is not a folder.")
  assert _report(command) == 1
  assert "DataUnavailableError: config.dataset.local_dir='/nowhere' is not a folder." \
         in caplog.text


def test_a_module_that_is_not_installed_is_a_broken_install(caplog):
  def command():
    import jaxgan_test_module_not_installed  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
  assert _report(command) == 1
  assert "BrokenInstallError: " in caplog.text
  assert "needs the Python module 'jaxgan_test_module_not_installed', which is not " \
         "installed" in caplog.text
  assert "pip install jaxgan_test_module_not_installed" in caplog.text
  assert "network" not in caplog.text


@pytest.mark.parametrize("error", [ValueError("a bug"), FileNotFoundError("a bug")])
def test_anything_else_keeps_its_traceback(error):
  def command():
    raise error
  with pytest.raises(type(error), match="a bug"):
    user_errors.run_reporting(command)
  assert not isinstance(error, user_errors.USER_ERRORS)


def test_a_users_module_that_imports_a_missing_one_is_a_broken_install(tmp_path, monkeypatch):
  (tmp_path / "my_losses_with_a_missing_import.py").write_text(
      "import jaxgan_test_dependency_not_installed\n\ndef loss(*args):\n  return 0.0\n")
  monkeypatch.syspath_prepend(str(tmp_path))
  with pytest.raises(errors.BrokenInstallError,
                     match="'my_losses_with_a_missing_import' .*imports "
                           "'jaxgan_test_dependency_not_installed', which is not installed"):
    losses.LOSSES.get("my_losses_with_a_missing_import:loss")
  for missing in ("no_such_module_of_the_user", "no_such_package_of_the_user.losses"):
    with pytest.raises(errors.UserError, match="Is the module on PYTHONPATH"):
      losses.LOSSES.get(f"{missing}:loss")
