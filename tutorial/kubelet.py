"""A Kubernetes Secret volume, as the kubelet writes it, for notebook 04's mounted-secrets demo.

The kubelet keeps each version of a Secret in a folder of its own (``..<timestamp>``), points the
symlink ``..data`` at the current one, and gives every key a symlink ``<key> -> ..data/<key>``. An
update writes the new folder, then swaps ``..data`` in one atomic rename, so a reader sees the old
files or the new ones, never a mix (``pkg/volume/util/atomic_writer.go`` in Kubernetes).

Needs: the standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

__all__ = ["kubelet_publish"]


def kubelet_publish(mount: Path, version: int, values: Mapping[str, str]) -> None:
    """Publish `values` (file name -> content) as version `version` of the Secret mounted at `mount`:
    write the folder ``..v<version>``, link each name through ``..data``, then swap ``..data`` atomically."""
    folder = mount / f"..v{version}"
    folder.mkdir(parents=True, exist_ok=True)
    for name, value in values.items():
        (folder / name).write_text(value)
        if not (mount / name).is_symlink():
            (mount / name).symlink_to(f"..data/{name}")
    (mount / "..data_tmp").unlink(missing_ok=True)
    (mount / "..data_tmp").symlink_to(folder.name)
    (mount / "..data_tmp").replace(mount / "..data")
