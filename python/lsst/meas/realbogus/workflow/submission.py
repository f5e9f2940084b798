"""BPS submissions: checks made before anything is submitted, and a run whose kill stops all of it.

``bps submit`` finds a missing compute site only after it has built the quantum graph and
made the submit directory, and reports it as ``KeyError: 'Error: Search failed .site.x'``; a
missing pipeline file surfaces as a failed graph-generation subprocess. `check_submission`
catches these, and an unreachable repository, first, with messages naming the file, site or
connection. `run_in_session` runs ``bps`` so that a SIGTERM or Ctrl-C stops the workflow's
parsl interchange and workers too (killed alone, ``bps`` leaves them running).
"""

from __future__ import annotations

__all__ = ["SubmissionError", "load_submit_config", "check_submission", "run_in_session"]

import os
import signal
import subprocess
from collections.abc import Sequence

from lsst.utils import doImportType


class SubmissionError(RuntimeError):
    """A BPS submission that cannot work; the message names what is wrong."""


def load_submit_config(config_file: str, **overrides: str | None):
    """Read a BPS submit configuration as ``bps submit`` does, with its command-line overrides.

    Parameters
    ----------
    config_file : `str`
        The submit YAML.
    **overrides
        ``bps submit`` options by their Python names: ``butler_config``,
        ``input``, ``output``, ``output_run``, ``data_query``, ``pipeline``,
        ``compute_site``. `None` or empty values are ignored.

    Returns
    -------
    config : `lsst.ctrl.bps.BpsConfig`
    """
    from lsst.ctrl.bps import BPS_DEFAULTS, BPS_SEARCH_ORDER, BpsConfig
    from lsst.ctrl.bps.initialize import translate_command_line_values

    if not os.path.isfile(config_file):
        raise SubmissionError(f"BPS configuration {config_file} does not exist.")
    try:
        config = BpsConfig(config_file, search_order=BPS_SEARCH_ORDER, defaults=BPS_DEFAULTS)
    except Exception as err:  # BpsConfig raises whatever YAML and include loading raise.
        raise SubmissionError(f"cannot read BPS configuration {config_file}: {err}") from None
    translate_command_line_values(config, **{k: v for k, v in overrides.items() if v})
    return config


def _value(config, key: str, config_file: str) -> str:
    found, value = config.search(key)
    if not found or value in (None, ""):
        raise SubmissionError(f"{config_file} does not set {key!r}.")
    return str(value)


def check_submission(config, config_file: str) -> dict[str, str]:
    """Check a BPS submission before anything is built or submitted.

    Checks that the compute site is defined and its class imports, that the
    pipeline file exists and its tasks import, and that the butler repository
    opens (so a PostgreSQL server that is down is named here) and holds the
    input collections.

    Parameters
    ----------
    config : `lsst.ctrl.bps.BpsConfig`
        From `load_submit_config`.
    config_file : `str`
        Its file name, for messages.

    Returns
    -------
    summary : `dict` [`str`, `str`]
        The compute site, pipeline, repository and input collections checked.

    Raises
    ------
    SubmissionError
        Naming the site, file, repository or collection at fault.
    """
    from lsst.daf.butler import Butler, MissingCollectionError
    from lsst.pipe.base import Pipeline

    site = _value(config, "computeSite", config_file)
    found, sites = config.search("site")
    names = sorted(sites.keys()) if found and hasattr(sites, "keys") else []
    if site not in names:
        raise SubmissionError(
            f"compute site {site!r} is not defined in {config_file} (sites defined: "
            f"{', '.join(names) or 'none'}); add it under 'site:' or choose one with --compute-site."
        )
    site_class = sites[site].get("class")
    if not site_class:
        raise SubmissionError(f"compute site {site!r} of {config_file} has no 'class'.")
    try:
        site_type = doImportType(site_class)
    except (ImportError, TypeError) as err:
        raise SubmissionError(f"compute site {site!r}: cannot import {site_class!r}: {err}") from None
    _check_parsl_site(config, site, site_type, config_file)

    pipeline = os.path.expandvars(_value(config, "pipelineYaml", config_file))
    if not os.path.isfile(pipeline.partition("#")[0]):
        raise SubmissionError(f"pipeline {pipeline} (pipelineYaml of {config_file}) does not exist.")
    try:
        Pipeline.from_uri(pipeline).to_graph()
    except Exception as err:  # A pipeline can fail to load in many ways; all stop the submission.
        raise SubmissionError(f"pipeline {pipeline} does not load: {err}") from None

    repo = os.path.expandvars(_value(config, "butlerConfig", config_file))
    inputs = [c.strip() for c in _value(config, "inCollection", config_file).split(",") if c.strip()]
    try:
        with Butler.from_config(repo) as butler:
            for collection in inputs:
                butler.collections.get_info(collection)
    except MissingCollectionError:
        raise SubmissionError(f"input collection {collection!r} is not in repository {repo}.") from None
    except Exception as err:  # Missing repository, registry down, bad configuration.
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise SubmissionError(f"cannot open butler repository {repo}: {message}") from None
    return {
        "computeSite": site,
        "pipelineYaml": pipeline,
        "butlerConfig": repo,
        "inCollection": ",".join(inputs),
    }


def _check_parsl_site(config, site: str, site_type: type, config_file: str) -> None:
    """Build a parsl site's executors (nothing is started) so a missing or bad setting shows now."""
    try:
        from lsst.ctrl.bps.parsl.site import SiteConfig
    except ImportError:
        return
    if not issubclass(site_type, SiteConfig):
        return
    if not config.search("uniqProcName")[0]:
        # bps names the workflow at submission; sites that name their batch jobs need one now.
        config[".bps_defined.uniqProcName"] = "realbogus_check"
    try:
        site_type(config).get_executors()
    except Exception as err:  # Site classes raise KeyError, ValueError, TypeError for bad settings.
        raise SubmissionError(f"compute site {site!r} of {config_file} is not usable: {err}") from None


def _kill_session(session: int, sig: int) -> None:
    import psutil

    for process in psutil.process_iter():
        try:
            if os.getsid(process.pid) == session and process.pid != os.getpid():
                process.send_signal(sig)
        except (psutil.Error, ProcessLookupError, PermissionError):
            pass


def run_in_session(command: Sequence[str], cwd: str | None = None) -> int:
    """Run a command in a session of its own; SIGTERM or Ctrl-C stops every process of that session.

    Parameters
    ----------
    command : sequence of `str`
        The command, e.g. ``["bps", "submit", "bps/realbogus.yaml"]``.
    cwd : `str`, optional
        Working directory.

    Returns
    -------
    returncode : `int`
        The command's exit status, or ``128 + signal`` if it was stopped.
    """
    # bps puts its submit directory under ${PWD}; keep PWD the directory the command really runs in.
    env = dict(os.environ, PWD=os.path.abspath(cwd or os.getcwd()))
    process = subprocess.Popen(list(command), cwd=cwd, env=env, start_new_session=True)
    received: list[int] = []

    def forward(signum, frame):
        received.append(signum)
        _kill_session(process.pid, signal.SIGTERM)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        returncode = process.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if received:
        # Whatever outlived bps itself (the parsl interchange and workers) goes too.
        _kill_session(process.pid, signal.SIGKILL)
        return 128 + received[0]
    return returncode
