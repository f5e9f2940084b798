"""Store a real/bogus model file in a butler repository (``register_realbogus_model.py``).

The model becomes a dataset (default type ``realbogus_model``, storage class
``RealBogusModel``, no dimensions) in a RUN collection, as Rubin keeps its
pretrained models; run the task with it by adding the collection to the inputs
and ``-c realBogus:modelSource=butler``.  The storage class must be known to
the butler: ``source setup.sh`` (or EUPS ``setup meas_realbogus``) puts this
package's butler configuration on ``DAF_BUTLER_CONFIG_PATH``.
"""

from __future__ import annotations

__all__ = ("main", "register_model")

import argparse
import sys

from ..butler import config_dir
from ..inference import ModelError, load_model


def register_model(repo: str, path: str, collection: str, dataset_type: str = "realbogus_model") -> str:
    """Validate a model file and put it into ``collection``; returns its version."""
    from lsst.daf.butler import Butler, DatasetType

    model = load_model(path)
    with Butler.from_config(repo, writeable=True, run=collection) as butler:
        try:
            storage = butler.storageClasses.getStorageClass("RealBogusModel")
        except KeyError:
            raise RuntimeError(
                f"The butler does not know the RealBogusModel storage class: put {config_dir()} on "
                "DAF_BUTLER_CONFIG_PATH (source setup.sh, or setup meas_realbogus with EUPS)."
            ) from None
        butler.registry.registerDatasetType(DatasetType(dataset_type, butler.dimensions.empty, storage))
        butler.put(model, dataset_type)
    return model.metadata.version


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="register_realbogus_model.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("repo", help="Butler repository.")
    parser.add_argument("model", help="TorchScript model file with meas_realbogus metadata.")
    parser.add_argument("collection", help="RUN collection to create, e.g. models/realbogus/rbsim06.")
    parser.add_argument("--dataset-type", default="realbogus_model", help="Dataset type name.")
    args = parser.parse_args(argv)
    try:
        version = register_model(args.repo, args.model, args.collection, args.dataset_type)
    except (ModelError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"stored model {args.model} (version {version}) as {args.dataset_type} in {args.collection}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
