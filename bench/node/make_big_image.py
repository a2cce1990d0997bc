#!/usr/bin/python3
"""Writes a ~200 MB (uncompressed) multi-layer linux/amd64 image into an OCI
image layout, deterministically (seeded), with Python's tarfile and zlib only.

    make_big_image.py OUTDIR [TAG]      (TAG defaults to "big")

Layers (gzip, default level 6, as docker/buildah write them):
  0 busybox: /bin/busybox (from Debian's busybox-static) + sh/sleep links, so
    tasks can run the image
  1 many small compressible files (a source/package tree)
  2 incompressible shared libraries (random bytes)
  3 compressible data files (text-like)
  4 incompressible assets
  5 many small mixed files
  6 one large file, random then zeros
Prints the layer sizes. Needs ~2x the compressed size in free space under OUTDIR.
"""
import gzip  # noqa: F401  (documents the format; zlib does the work)
import hashlib
import io
import json
import os
import random
import shutil
import sys
import tarfile
import zlib

MiB = 1 << 20


def text_source(rng, size=MiB):
    words = [rng.randbytes(rng.randint(2, 9)).hex()[: rng.randint(2, 12)] for _ in range(4000)]
    out = io.StringIO()
    n = 0
    while n < size:
        line = " ".join(rng.choice(words) for _ in range(rng.randint(4, 14))) + "\n"
        out.write(line)
        n += len(line)
    return out.getvalue().encode()[:size]


class Layer:
    def __init__(self, path):
        self.path = path
        self.tar = tarfile.open(path, "w", format=tarfile.PAX_FORMAT)
        self.bytes = 0

    def dir(self, name):
        ti = tarfile.TarInfo(name)
        ti.type = tarfile.DIRTYPE
        ti.mode = 0o755
        ti.mtime = 1704067200
        self.tar.addfile(ti)

    def file(self, name, data, mode=0o644):
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        ti.mode = mode
        ti.mtime = 1704067200
        self.tar.addfile(ti, io.BytesIO(data))
        self.bytes += len(data)

    def symlink(self, name, target):
        ti = tarfile.TarInfo(name)
        ti.type = tarfile.SYMTYPE
        ti.linkname = target
        ti.mtime = 1704067200
        self.tar.addfile(ti)

    def close(self):
        self.tar.close()


def compressible(rng, src, size):
    # Slices of a 1 MiB text at random offsets, with a few random bytes mixed
    # in: gzip gets text-like ratios (its window is 32 KiB) but no free ride.
    out = bytearray()
    while len(out) < size:
        off = rng.randrange(0, len(src) - 65536)
        out += src[off: off + rng.randint(4096, 65536)]
        out += rng.randbytes(16).hex().encode()
    return bytes(out[:size])


def build_layers(tmp, rng):
    src = text_source(rng)
    layers = []

    def new(name):
        layer = Layer(os.path.join(tmp, name + ".tar"))
        layers.append(layer)
        return layer

    busybox = os.environ.get("BUSYBOX", "/bin/busybox")
    l0 = new("busybox")
    for d in ("bin", "etc", "tmp"):
        l0.dir(d)
    with open(busybox, "rb") as f:
        l0.file("bin/busybox", f.read(), 0o755)
    for applet in ("sh", "sleep", "cat", "ls", "true"):
        l0.symlink("bin/" + applet, "busybox")
    l0.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
    l0.file("etc/group", b"root:x:0:\n")

    l1 = new("tree")
    for i in range(2000):
        if i % 50 == 0:
            l1.dir("usr/share/pkg/d%02d" % (i // 50))
        l1.file("usr/share/pkg/d%02d/f%04d.txt" % (i // 50, i), compressible(rng, src, rng.randint(1024, 15 * 1024)))

    l2 = new("libs")
    l2.dir("usr/lib/big")
    for i in range(8):
        l2.file("usr/lib/big/lib%d.so" % i, rng.randbytes(5 * MiB), 0o755)

    l3 = new("data")
    l3.dir("var/data")
    for i in range(4):
        l3.file("var/data/table%d.csv" % i, compressible(rng, src, 10 * MiB))

    l4 = new("assets")
    l4.dir("srv/assets")
    for i in range(4):
        l4.file("srv/assets/asset%d.bin" % i, rng.randbytes(10 * MiB))

    l5 = new("site-packages")
    for i in range(3000):
        if i % 100 == 0:
            l5.dir("usr/lib/python/m%02d" % (i // 100))
        size = rng.randint(1024, 8 * 1024)
        data = rng.randbytes(size) if i % 3 == 0 else compressible(rng, src, size)
        l5.file("usr/lib/python/m%02d/mod%04d.py" % (i // 100, i), data)

    l6 = new("model")
    l6.dir("opt/model")
    l6.file("opt/model/weights.bin", rng.randbytes(30 * MiB) + bytes(20 * MiB))
    for layer in layers:
        layer.close()
    return layers


def put_blob(layout, data_path=None, data=None):
    h = hashlib.sha256()
    tmp = os.path.join(layout, "blobs", "sha256", ".incoming")
    with open(tmp, "wb") as out:
        if data is not None:
            h.update(data)
            out.write(data)
            size = len(data)
        else:
            size = 0
            with open(data_path, "rb") as f:
                while True:
                    chunk = f.read(MiB)
                    if not chunk:
                        break
                    h.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
    digest = h.hexdigest()
    os.replace(tmp, os.path.join(layout, "blobs", "sha256", digest))
    return "sha256:" + digest, size


def gzip_layer(tar_path, gz_path):
    """Returns the diff_id (sha256 of the tar); writes the gzip stream."""
    diff = hashlib.sha256()
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)
    with open(tar_path, "rb") as f, open(gz_path, "wb") as out:
        while True:
            chunk = f.read(MiB)
            if not chunk:
                break
            diff.update(chunk)
            out.write(comp.compress(chunk))
        out.write(comp.flush())
    return "sha256:" + diff.hexdigest()


def main():
    if len(sys.argv) < 2:
        raise SystemExit("usage: make_big_image.py OUTDIR [TAG]")
    layout = sys.argv[1]
    tag = sys.argv[2] if len(sys.argv) > 2 else "big"
    rng = random.Random(20240101)
    shutil.rmtree(layout, ignore_errors=True)
    os.makedirs(os.path.join(layout, "blobs", "sha256"))
    tmp = os.path.join(layout, ".build")
    os.makedirs(tmp)
    try:
        layers = build_layers(tmp, rng)
        descs, diff_ids, total_tar = [], [], 0
        for layer in layers:
            gz = layer.path + ".gz"
            diff_ids.append(gzip_layer(layer.path, gz))
            total_tar += os.path.getsize(layer.path)
            os.remove(layer.path)
            digest, size = put_blob(layout, data_path=gz)
            os.remove(gz)
            descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": size})
            print("layer %-14s %7.1f MiB files, %7.1f MiB gzip" % (os.path.basename(layer.path)[:-4], layer.bytes / MiB, size / MiB),
                  file=sys.stderr)
        config = {"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
                  "config": {"Cmd": ["sh"], "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
                  "rootfs": {"type": "layers", "diff_ids": diff_ids},
                  "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "make_big_image.py"} for _ in diff_ids]}
        cdigest, csize = put_blob(layout, data=json.dumps(config, separators=(",", ":")).encode())
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdigest, "size": csize},
                    "layers": descs}
        mdigest, msize = put_blob(layout, data=json.dumps(manifest, separators=(",", ":")).encode())
        with open(os.path.join(layout, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)
        with open(os.path.join(layout, "index.json"), "w") as f:
            json.dump({"schemaVersion": 2, "manifests": [
                {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mdigest, "size": msize,
                 "annotations": {"org.opencontainers.image.ref.name": tag}}]}, f)
        total_gz = sum(d["size"] for d in descs)
        print(json.dumps({"layers": len(descs), "uncompressed_bytes": total_tar, "compressed_bytes": total_gz,
                          "manifest": mdigest}))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
