#!/usr/bin/env bash
# Usage: kernels/fetch.sh NAME...   (or --all)
# Downloads each Debian kernel package pinned in kernels/defs/NAME.kernel with `apt-get download`,
# unpacks it with `dpkg -x` into the cache ($STASIS_KERNEL_CACHE, default ~/.cache/stasis/kernels)
# and builds its modules.dep there. Idempotent: a complete unpack is reused. Prints one line per
# kernel: NAME <unpack dir>. `host` needs nothing and prints "host -".
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

fetch_one() {
  kdef_load "$1"
  if [[ $KDEF_KIND == host ]]; then echo "$KDEF_NAME -"; return 0; fi
  local dir stamp tmp deb
  dir=$(kdef_unpack_dir)
  stamp="$dir/.complete"
  if [[ -f $stamp ]]; then echo "$KDEF_NAME $dir"; return 0; fi

  mkdir -p "$KERNEL_CACHE"
  tmp=$(mktemp -d "$KERNEL_CACHE/.fetch.XXXXXX")
  TEMP_DIRS+=("$tmp")
  kmsg "downloading $KDEF_PACKAGE=$KDEF_VERSION"
  # apt drops privileges to _apt for downloads; a world-writable scratch dir keeps it quiet.
  chmod 0777 "$tmp"
  if ! (cd "$tmp" && apt-get download -q "$KDEF_PACKAGE=$KDEF_VERSION" > "$tmp/apt.log" 2>&1); then
    if ! apt-cache madison "$KDEF_PACKAGE" 2>/dev/null | grep -q .; then
      # The lists may just be stale: refresh once, as root only, and try again.
      if [[ $(id -u) -eq 0 && -z ${STASIS_NO_APT_UPDATE:-} ]]; then
        kmsg "package not in the apt lists, running apt-get update once"
        apt-get update -qq >/dev/null 2>&1 || true
      fi
    fi
    if ! (cd "$tmp" && apt-get download -q "$KDEF_PACKAGE=$KDEF_VERSION" > "$tmp/apt.log" 2>&1); then
      local have
      have=$(apt-cache madison "$KDEF_PACKAGE" 2>/dev/null | awk -F'|' '{gsub(/ /,"",$2); print $2}' |
             tr '\n' ' ')
      {
        echo "fetch: kernel '$KDEF_NAME': Debian package $KDEF_PACKAGE=$KDEF_VERSION is not available:"
        sed 's/^/  apt: /' "$tmp/apt.log" | grep -E 'E:|W:' | head -n1
        if [[ -n $have ]]; then
          echo "  versions of $KDEF_PACKAGE the apt sources still have: $have"
        else
          echo "  the package has vanished from the apt sources (superseded by a newer ABI)."
        fi
        echo "  choose another with: apt-cache search --names-only '^linux-image-6\\.[0-9.]+.*-cloud-amd64-unsigned\$'"
        echo "  and apt-cache madison <package>, then edit package=/version=/release= in"
        echo "  $KERNELS_DIR/defs/$KDEF_NAME.kernel"
      } >&2
      return 1
    fi
  fi
  deb=$(ls "$tmp"/*.deb)
  mkdir -p "$tmp/root"
  dpkg -x "$deb" "$tmp/root"
  local vmlinuz="$tmp/root/boot/vmlinuz-$KDEF_RELEASE" mods="$tmp/root/lib/modules/$KDEF_RELEASE"
  [[ -f $vmlinuz ]] || { kmsg "$deb has no boot/vmlinuz-$KDEF_RELEASE (release= wrong?)"; return 1; }
  [[ -d $mods ]] || { kmsg "$deb has no lib/modules/$KDEF_RELEASE"; return 1; }
  # Debian packages carry no modules.dep (postinst makes it); build it against the unpack.
  depmod -b "$tmp/root" "$KDEF_RELEASE"
  rm -f "$deb"
  rm -rf "$dir"
  mv "$tmp/root" "$dir"
  touch "$stamp"
  echo "$KDEF_NAME $dir"
}

TEMP_DIRS=()
trap 'rm -rf "${TEMP_DIRS[@]}"' EXIT
(($#)) || kdie "usage: kernels/fetch.sh NAME... | --all"
if [[ $1 == --all ]]; then set -- $(kdef_names); fi
rc=0
for name in "$@"; do fetch_one "$name" || rc=1; done
exit $rc
