"""Trained ensemble members kept on disk, so that an interrupted training resumes.

An ensemble of a few networks trained on a large set takes hours on a CPU; each
member is written here as soon as its training ends, under a key of everything
that decides its weights (the settings and the input datasets), and a rerun with
the same key loads it instead of training it again. A member is trained from its
own seed and the common validation split, so a loaded member is the one the
rerun would have trained (on the same machine and threads: see ``training.rst``).
While a member trains, its state after each epoch (weights, optimizer, random
generators, best epoch so far) is kept too, so a rerun goes on from the epoch
after the last one saved and ends with the same weights.
"""

from __future__ import annotations

__all__ = ("MemberCheckpoints", "training_key")

import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .architectures import get_architecture
from .training import TrainingResult

_FORMAT = 1


def training_key(settings: Mapping[str, Any], inputs: Sequence[str]) -> str:
    """A digest of the settings and the input datasets that decide a training's result.

    Parameters
    ----------
    settings : `~collections.abc.Mapping`
        Every setting that changes the trained weights (JSON-serializable values).
    inputs : `~collections.abc.Sequence` [`str`]
        One string per input dataset (e.g. a digest of its content); their order does not matter.

    Returns
    -------
    key : `str`
        A hexadecimal SHA-256 digest.
    """
    text = json.dumps({"settings": dict(settings), "inputs": sorted(inputs)}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class MemberCheckpoints:
    """Ensemble members of one training, saved in a directory as ``member{N}.pt``
    (and, while member N trains, its state after its last epoch as ``member{N}.progress.pt``).

    Parameters
    ----------
    directory : `str` or `~pathlib.Path`
        Where the members are kept (created on the first save).
    key : `str`
        The `training_key` of the training; a file saved under another key is not loaded.
    log : `logging.Logger`, optional
        Logger for what is loaded, skipped and saved.
    """

    def __init__(self, directory: str | Path, key: str, log: logging.Logger | None = None) -> None:
        self.directory = Path(directory)
        self.key = key
        self.log = log or logging.getLogger(__name__)

    def path(self, member: int) -> Path:
        """The file of ``member`` (from 0)."""
        return self.directory / f"member{member + 1}.pt"

    def progress_path(self, member: int) -> Path:
        """The file of ``member``'s training state after its last finished epoch."""
        return self.directory / f"member{member + 1}.progress.pt"

    def _write(self, state: dict[str, Any], path: Path) -> None:
        """Write ``state`` to ``path`` atomically (a killed save leaves no partial file)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".pt.partial")
        torch.save({"format": _FORMAT, "key": self.key, **state}, partial)
        os.replace(partial, path)

    def _read(self, path: Path, member: int, what: str) -> dict[str, Any] | None:
        """The state in ``path`` if it is of this key and member; else `None`, with the reason logged."""
        if not path.exists():
            return None
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            if state.get("format") != _FORMAT:
                raise ValueError(f"format {state.get('format')!r}, not {_FORMAT}")
        except Exception as err:
            self.log.warning("Cannot read the checkpoint %s (%s); %s.", path, err, what)
            return None
        if state["key"] != self.key or state["member"] != member:
            self.log.info("The checkpoint %s is of a training with other settings or inputs; %s.", path, what)
            return None
        return state

    def save_progress(self, member: int, state: dict[str, Any]) -> None:
        """Keep the training state of ``member`` after an epoch (the ``on_epoch`` of
        `~lsst.meas.realbogus.cnn.training.train_classifier`).
        """
        self._write({"member": member, "progress": state}, self.progress_path(member))

    def load_progress(self, member: int) -> dict[str, Any] | None:
        """The last saved training state of ``member`` (the ``resume`` of
        `~lsst.meas.realbogus.cnn.training.train_classifier`), or `None`.
        """
        state = self._read(self.progress_path(member), member, f"training member {member + 1} from the start")
        if state is None:
            return None
        self.log.info(
            "Resuming ensemble member %d from %s, after epoch %d.",
            member + 1,
            self.progress_path(member),
            state["progress"]["epoch"],
        )
        return state["progress"]

    def save(self, member: int, result: TrainingResult, psf_fwhm_range: tuple[float, float]) -> Path:
        """Write a trained member (atomically: a killed save leaves no partial file).

        Parameters
        ----------
        member : `int`
            Index of the member, from 0.
        result : `~lsst.meas.realbogus.cnn.training.TrainingResult`
            The trained member.
        psf_fwhm_range : `tuple` [`float`, `float`]
            Narrowest and widest PSF FWHM of the training triplets (pixels), which the model
            records, kept so that a training whose members are all loaded can still record them.
        """
        state = {
            "member": member,
            "state_dict": {k: v.detach().cpu() for k, v in result.module.state_dict().items()},
            "best_epoch": result.best_epoch,
            "val_auc": float(result.val_auc),
            "history": result.history,
            "counts": dict(result.counts),
            "positive_weight": float(result.positive_weight),
            "input_shape": list(result.input_shape),
            "seconds": float(result.seconds),
            "val_logits": torch.from_numpy(np.asarray(result.val_logits, np.float32)),
            "val_labels": torch.from_numpy(np.asarray(result.val_labels, bool)),
            "psf_fwhm_range": [float(psf_fwhm_range[0]), float(psf_fwhm_range[1])],
        }
        path = self.path(member)
        self._write(state, path)
        self.progress_path(member).unlink(missing_ok=True)
        self.log.info("Saved ensemble member %d to %s.", member + 1, path)
        return path

    def load(self, member: int, architecture: str) -> tuple[TrainingResult, tuple[float, float]] | None:
        """The saved member, or `None` if there is none for this key.

        A file of another training (another key) or one that cannot be read is reported and
        ignored: the member is then trained again and its file replaced.

        Parameters
        ----------
        member : `int`
            Index of the member, from 0.
        architecture : `str`
            Registered architecture name the member is rebuilt with.

        Returns
        -------
        loaded : `tuple` or `None`
            The `~lsst.meas.realbogus.cnn.training.TrainingResult` (module in evaluation mode,
            on the CPU) and the ``(narrowest, widest)`` training PSF FWHM.
        """
        path = self.path(member)
        state = self._read(path, member, f"training member {member + 1} again")
        if state is None:
            return None
        shape = tuple(state["input_shape"])
        module = get_architecture(architecture, shape[0], shape[-1])
        module.load_state_dict(state["state_dict"])
        result = TrainingResult(
            module=module.eval(),
            best_epoch=state["best_epoch"],
            val_auc=state["val_auc"],
            history=state["history"],
            counts=state["counts"],
            positive_weight=state["positive_weight"],
            input_shape=shape,
            seconds=state["seconds"],
            val_logits=state["val_logits"].numpy(),
            val_labels=state["val_labels"].numpy(),
        )
        self.log.info(
            "Loaded ensemble member %d from %s (best epoch %d, validation AUC %.4f), trained earlier with "
            "these settings and inputs.",
            member + 1,
            path,
            result.best_epoch,
            result.val_auc,
        )
        low, high = state["psf_fwhm_range"]
        return result, (low, high)
