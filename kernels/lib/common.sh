# shellcheck shell=bash
# Shared helpers for the kernel-matrix scripts. Sourced, never run.
# Provides: logging, the kernel cache location, and the typed kernel definitions (defs/*.kernel).

KERNELS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STASIS_ROOT=$(cd "$KERNELS_DIR/.." && pwd)
# Kernels are large and shared by every checkout: keep them outside the source tree.
KERNEL_CACHE=${STASIS_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stasis/kernels}

kmsg() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
kdie() { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; exit 2; }

# Lists the names of every defined kernel.
kdef_names() {
  local f
  for f in "$KERNELS_DIR"/defs/*.kernel; do
    f=${f##*/}
    printf '%s\n' "${f%.kernel}"
  done
}

# Reads a list file (matrix.list, pairs.list): drops comments and blank lines.
klist_read() {
  sed -e 's/#.*//' -e 's/[[:space:]]\+/ /g' -e 's/^ //' -e 's/ $//' "$1" | grep -v '^$' || true
}

# kdef_load NAME: parses defs/NAME.kernel into KDEF_* variables, checking every field's type.
# The file is parsed, not sourced, so a definition cannot run code.
kdef_load() {
  local name=$1 file="$KERNELS_DIR/defs/$1.kernel" line key value lineno=0
  [[ $name =~ ^[A-Za-z0-9][A-Za-z0-9._+-]*$ ]] || kdie "bad kernel name '$name'"
  if [[ ! -f $file ]]; then
    kdie "unknown kernel '$name' (known: $(kdef_names | tr '\n' ' '))"
  fi
  KDEF_NAME=$name KDEF_KIND= KDEF_PACKAGE= KDEF_VERSION= KDEF_RELEASE= KDEF_CMDLINE=
  KDEF_EXPECT= KDEF_REASON= KDEF_FAILURE= KDEF_DESCRIPTION=
  while IFS= read -r line || [[ -n $line ]]; do
    lineno=$((lineno + 1))
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    [[ $line =~ ^([a-z]+)=(.*)$ ]] || kdie "$file:$lineno: expected key=value, got '$line'"
    key=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
    case $key in
      kind) [[ $value == debian || $value == host ]] ||
              kdie "$file:$lineno: kind must be 'debian' or 'host', got '$value'"
            KDEF_KIND=$value ;;
      package) [[ $value =~ ^linux-image-[a-z0-9.+~-]+$ ]] ||
                 kdie "$file:$lineno: package must be a linux-image-* package name, got '$value'"
               KDEF_PACKAGE=$value ;;
      version) [[ $value =~ ^[0-9][A-Za-z0-9.+~:-]*$ ]] ||
                 kdie "$file:$lineno: version must be an exact Debian version, got '$value'"
               KDEF_VERSION=$value ;;
      release) [[ $value =~ ^[0-9]+\.[0-9]+[A-Za-z0-9.+_-]*$ ]] ||
                 kdie "$file:$lineno: release must be a uname -r string, got '$value'"
               KDEF_RELEASE=$value ;;
      cmdline) [[ $value =~ ^[A-Za-z0-9._=,:/+\ -]*$ ]] ||
                 kdie "$file:$lineno: cmdline has characters outside [A-Za-z0-9._=,:/+ -]"
               KDEF_CMDLINE=$value ;;
      expect) [[ $value == pass || $value == fail ]] ||
                kdie "$file:$lineno: expect must be 'pass' or 'fail', got '$value'"
              KDEF_EXPECT=$value ;;
      reason) KDEF_REASON=$value ;;
      failure) local grep_rc=0
               printf '' | grep -E -e "$value" > /dev/null 2>&1 || grep_rc=$?
               ((grep_rc < 2)) ||
                 kdie "$file:$lineno: failure= is not a valid extended regular expression"
               KDEF_FAILURE=$value ;;
      description) KDEF_DESCRIPTION=$value ;;
      *) kdie "$file:$lineno: unknown key '$key'" ;;
    esac
  done < "$file"
  [[ -n $KDEF_KIND ]] || kdie "$file: missing kind="
  [[ -n $KDEF_EXPECT ]] || KDEF_EXPECT=pass
  if [[ $KDEF_KIND == debian ]]; then
    [[ -n $KDEF_PACKAGE && -n $KDEF_VERSION && -n $KDEF_RELEASE ]] ||
      kdie "$file: a debian kernel needs package=, version= and release="
    [[ $KDEF_PACKAGE == *"$KDEF_RELEASE"* ]] ||
      kdie "$file: release '$KDEF_RELEASE' does not match package '$KDEF_PACKAGE'"
  fi
  if [[ $KDEF_EXPECT == fail && ( -z $KDEF_REASON || -z $KDEF_FAILURE ) ]]; then
    kdie "$file: expect=fail needs reason= (why) and failure= (what the failures must say)"
  fi
  return 0
}

# Where a fetched Debian kernel is unpacked (one directory per package version).
kdef_unpack_dir() { printf '%s/%s_%s\n' "$KERNEL_CACHE" "$KDEF_PACKAGE" "${KDEF_VERSION//:/%}"; }

# Content hash of files and directories given as arguments (names, modes and bytes).
content_hash() {
  local p
  for p in "$@"; do
    if [[ -d $p ]]; then
      (cd "$p" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum)
    elif [[ -e $p ]]; then
      sha256sum "$p"
    fi
  done | sha256sum | cut -c1-16
}

# The TCG guest CPU. "max" has features x86 servers rarely have or no longer have: LA57 (a larger
# user address space than this host's), and PKU and MPX, whose xstate components (PKRU, bit 9;
# MPX BNDCSR, bit 4) are in use in every guest process's XSAVE image (XSTATE_BV 0x210 seen: the
# kernel starts each process with a non-default PKRU). Such images cannot be restored on a host
# without PKU/MPX (this one, and most since MPX was dropped), so a guest -> host migration would
# test nothing but that refusal. With both off the guest's XCR0 is 0x7 (x87, SSE, AVX), a
# subset of any AVX host's. QEMU 7.2 (bookworm) accepts these property names.
GUEST_TCG_CPU='max,la57=off,pku=off,mpx=off'

# glibc picks its string functions by CPU feature once, at start-up. A process started on this
# AVX-512 host and restored in a TCG guest (AVX2, no AVX-512) would execute AVX-512 there; tests
# meant to cross host -> guest start with these features masked (glibc 2.36 knows these names).
# XSAVEC too: ld.so picks its lazy-binding trampoline (_dl_runtime_resolve_xsavec) by it, and
# TCG has XSAVE but not XSAVEC, so every restored process died of SIGILL in ld.so at its first
# unresolved call.
GUEST_CPU_TUNABLES='glibc.cpu.hwcaps=-AVX512F,-AVX512CD,-AVX512BW,-AVX512DQ,-AVX512VL,-XSAVEC'
