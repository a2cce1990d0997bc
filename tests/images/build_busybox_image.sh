#!/usr/bin/env bash
# Builds a small busybox image from Debian's busybox-static into an OCI image
# layout, fully offline. Shared by the image tests, agent tests and benchmarks.
#
#   tests/images/build_busybox_image.sh OUTDIR [TAG]
#
# OUTDIR becomes an OCI layout holding tag TAG (default "busybox"): one gzip layer
# with /bin/busybox, /bin/<applet> symlinks for the common applets, /etc/passwd,
# /etc/group, /tmp; config linux/amd64, Cmd ["sh"], Env PATH.
# Push it with: skopeo copy --dest-tls-verify=false oci:OUTDIR:TAG docker://HOST:PORT/REPO:TAG
set -euo pipefail

out=${1:?usage: build_busybox_image.sh OUTDIR [TAG]}
tag=${2:-busybox}
busybox=${BUSYBOX:-/bin/busybox}

for tool in umoci; do
  command -v "$tool" >/dev/null || { echo "build_busybox_image: $tool not found (apt-get install $tool)" >&2; exit 2; }
done
[ -x "$busybox" ] || { echo "build_busybox_image: $busybox not found (apt-get install busybox-static)" >&2; exit 2; }
if ! "$busybox" --list >/dev/null 2>&1; then
  echo "build_busybox_image: $busybox does not look like busybox" >&2; exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root"
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
chmod 0755 "$root/bin/busybox"
for applet in sh ash ls cat echo sleep true false env id ps kill mkdir rm cp mv touch head tail wc \
              grep sed awk test printf pwd hostname uname date stat ln chmod chown du df find xargs \
              tr sort uniq cut yes seq basename dirname readlink mount umount dd tee nc wget vi timeout \
              httpd ip ifconfig; do
  ln -s busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"

rm -rf "$out"
umoci init --layout "$out"
umoci new --image "$out:$tag"
# insert adds one layer holding the tree at the given path; we insert the whole root.
umoci insert --image "$out:$tag" "$root" /
umoci config --image "$out:$tag" --os linux --architecture amd64 \
  --config.cmd sh --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --author berth-tests --created 2024-01-01T00:00:00Z --history.created 2024-01-01T00:00:00Z
umoci gc --layout "$out"
echo "$out:$tag"
