"""DVC stage: fetch and verify every input into data/raw (offline: from $MTL_MIRROR)."""

from pathlib import Path

from mtbert.config import load_params, run_stage, section
from mtbert.config.data import CheckpointConfig, DownloadConfig
from mtbert.data.download import download_all
from mtbert.data.fetch import mirror_from_env
from mtbert.data.sources import resolve


def main() -> None:
    params = load_params()
    cfg = section(params, "data.download", DownloadConfig)
    ckpt = section(params, "model", CheckpointConfig, only=("checkpoint", "revision"))
    files = resolve(cfg.sources, ckpt.checkpoint, ckpt.revision)
    manifest = download_all(files, Path("data/raw"), mirror_from_env(), cfg.timeout_s, tuple(cfg.origins))
    for rec in manifest["files"]:
        how = ", ".join(rec["verified_by"]) if rec["status"] == "ok" else "; ".join(rec["tried"])
        print(f"{rec['status']:>11}  {rec['path']}  [{how}]")


if __name__ == "__main__":
    run_stage(main)
