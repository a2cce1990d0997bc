#!/usr/bin/python3
"""Writes a multi-layer OCI image layout of incompressible data for the
registry push/pull benchmark.

    make_image.py OUTDIR --size-mib N [--layers L] [--tag T] [--seed S]

Each layer is a tar holding one file of seeded pseudo-random bytes (N/L MiB),
wrapped in gzip *stored* blocks (zlib level 0). Random bytes do not compress,
so a real gzip would be the same size; level 0 only saves the CPU of trying,
which matters at 1 GiB on 2 cores. The layers must be gzip, not plain tar:
skopeo compresses uncompressed layers on the way to a docker:// destination,
which would turn the benchmark into a gzip benchmark of skopeo.

Prints one JSON line: layers, blob_bytes (everything a push uploads: layers +
config + manifest), manifest digest.
"""
import argparse
import hashlib
import io
import json
import os
import random
import sys
import tarfile
import zlib

MiB = 1 << 20
CHUNK = 4 * MiB
MTIME = 1704067200


class RandomReader(io.RawIOBase):
    """A file object yielding `size` seeded pseudo-random bytes (tarfile copies from it)."""

    def __init__(self, rng, size):
        self.rng = rng
        self.left = size

    def readable(self):
        return True

    def read(self, n=-1):
        if n is None or n < 0 or n > self.left:
            n = self.left
        n = min(n, CHUNK)
        self.left -= n
        return self.rng.randbytes(n)


class GzipBlobWriter:
    """tarfile writes into this: hashes the tar (diff_id), gzips it, hashes and
    writes the gzip stream (the blob)."""

    def __init__(self, path):
        self.out = open(path, "wb")
        self.diff = hashlib.sha256()
        self.blob = hashlib.sha256()
        self.comp = zlib.compressobj(0, zlib.DEFLATED, 31)
        self.size = 0

    def _emit(self, data):
        if data:
            self.blob.update(data)
            self.out.write(data)
            self.size += len(data)

    def write(self, data):
        self.diff.update(data)
        self._emit(self.comp.compress(data))
        return len(data)

    def close(self):
        self._emit(self.comp.flush())
        # Written back now, so the disk measurement that follows does not pay for it.
        self.out.flush()
        os.fsync(self.out.fileno())
        self.out.close()


def put_blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)


def write_layer(layout, index, rng, size):
    tmp = os.path.join(layout, "blobs", "sha256", ".layer%d" % index)
    writer = GzipBlobWriter(tmp)
    # Streaming mode ("w|"): tarfile never seeks, so the writer needs no tell().
    with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        d = tarfile.TarInfo("data")
        d.type, d.mode, d.mtime = tarfile.DIRTYPE, 0o755, MTIME
        tar.addfile(d)
        f = tarfile.TarInfo("data/layer%d.bin" % index)
        f.size, f.mode, f.mtime = size, 0o644, MTIME
        tar.addfile(f, RandomReader(rng, size))
    writer.close()
    digest = writer.blob.hexdigest()
    os.replace(tmp, os.path.join(layout, "blobs", "sha256", digest))
    return ({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + digest,
             "size": writer.size}, "sha256:" + writer.diff.hexdigest())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--size-mib", type=int, required=True, help="total size of the layers' files")
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--tag", default="big")
    ap.add_argument("--seed", type=int, default=20261122)
    args = ap.parse_args()
    if args.size_mib < args.layers:
        raise SystemExit("make_image.py: --size-mib must be at least --layers")

    layout = args.outdir
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    rng = random.Random(args.seed)
    per_layer = args.size_mib * MiB // args.layers
    descs, diff_ids = [], []
    for i in range(args.layers):
        desc, diff_id = write_layer(layout, i, rng, per_layer)
        descs.append(desc)
        diff_ids.append(diff_id)
    config = {"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
              "config": {"Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
              "rootfs": {"type": "layers", "diff_ids": diff_ids},
              "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "bench/registry/make_image.py"}
                          for _ in diff_ids]}
    cdigest, csize = put_blob(layout, json.dumps(config, separators=(",", ":")).encode())
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdigest, "size": csize},
                "layers": descs}
    mdigest, msize = put_blob(layout, json.dumps(manifest, separators=(",", ":")).encode())
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mdigest, "size": msize,
             "annotations": {"org.opencontainers.image.ref.name": args.tag}}]}, f)
    print(json.dumps({"layers": len(descs), "layer_bytes": sum(d["size"] for d in descs),
                      "blob_bytes": sum(d["size"] for d in descs) + csize + msize, "manifest": mdigest}))


if __name__ == "__main__":
    sys.exit(main())
