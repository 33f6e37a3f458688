#!/usr/bin/env bash
# Builds the pieces of the guest initramfs. The kernel unpacks concatenated newc archives in
# order, so a guest's initrd is: userland.cpio + modules-<kernel>.cpio + a small per-run job.
#
#   kernels/build-initramfs.sh userland BUILD OUT.cpio
#       busybox-static, /init, BUILD/stasis, the zdtm runner and test executables, the *.desc
#       metadata, the extra host programs of guest/extra-binaries.list, and every shared library
#       they load (ldd), all at the same absolute paths as on the host: a process dumped on the
#       host must find its mapped files at the same paths in the guest, and vice versa.
#   kernels/build-initramfs.sh modules KERNEL OUT.cpio
#       the modules of guest/modules.list for that kernel plus their dependencies, decompressed
#       (busybox insmod takes plain .ko), and /lib/modules/stasis-load.order to insmod them in.
#   kernels/build-initramfs.sh job DIR OUT.cpio
#       the files of DIR as /job (run.sh, env, ...).
#   kernels/build-initramfs.sh initrd BUILD KERNEL JOBDIR OUT
#       all three, concatenated; the first two are cached by content.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

TEMP_DIRS=()
trap 'rm -rf "${TEMP_DIRS[@]}"' EXIT

# Writes the tree under $1 as a newc archive to $2, owned by root, in a stable order.
make_cpio() {
  (cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) > "$2.tmp"
  mv "$2.tmp" "$2"
}

# stage_path STAGE PATH: copies PATH into STAGE at the same absolute path, recreating the
# symlinks on the way (libfoo.so.1 -> libfoo.so.1.2.3), with the file's mode and mtime.
stage_path() {
  local stage=$1 path=$2 dir base target
  dir=$(realpath -e "$(dirname "$path")") || return 1
  base=${path##*/}
  path="$dir/$base"
  [[ -e $stage$path || -L $stage$path ]] && return 0
  mkdir -p "$stage$dir"
  if [[ -L $path ]]; then
    target=$(readlink "$path")
    ln -s "$target" "$stage$path"
    [[ $target == /* ]] || target="$dir/$target"
    stage_path "$stage" "$target"
  else
    cp -p "$path" "$stage$path"
  fi
}

# Prints the shared libraries (and the dynamic loader) an ELF file loads; nothing if static.
elf_libs() {
  ldd "$1" 2>/dev/null | awk '
    / => \// { print $3; next }
    /^[[:space:]]*\/[^ ]+ \(0x/ { print $1 }'
}

is_elf() { [[ -f $1 && $(head -c4 "$1" | od -An -c | tr -d ' ') == '177ELF' ]]; }

# The host files the userland part consists of, one absolute path a line.
userland_inputs() {
  local build=$1 f
  echo "$KERNELS_DIR/guest/init"
  readlink -f /bin/busybox
  [[ -x $build/stasis ]] && echo "$build/stasis"
  if [[ -d $build/zdtm ]]; then
    # Executables: the runner, the tests, and any helper scripts they run.
    find "$build/zdtm" -path '*/CMakeFiles' -prune -o -type f -perm -u+x -print | LC_ALL=C sort
    find "$build/zdtm" -path '*/CMakeFiles' -prune -o -type f -name '*.desc' -print
  fi
  find "$STASIS_ROOT/zdtm" -type f -name '*.desc' 2>/dev/null | LC_ALL=C sort
  klist_read "$KERNELS_DIR/guest/extra-binaries.list" | while read -r f; do
    if [[ -x $f ]]; then echo "$f"; else kmsg "extra binary $f is not on this host: skipped"; fi
  done
  for f in /etc/passwd /etc/group /etc/nsswitch.conf; do [[ -f $f ]] && echo "$f"; done
  return 0
}

build_userland() {
  local build out inputs hash cached stage f lib d
  build=$(realpath -e "$1") || kdie "build directory $1 does not exist"
  out=$2
  [[ -x $build/stasis ]] || kmsg "warning: $build/stasis is not built; the guest gets no engine"
  inputs=$(userland_inputs "$build")
  # The libraries count as content too: a host library upgrade must rebuild the image.
  hash=$( { printf '%s\n' "$inputs"
            printf '%s\n' "$inputs" | while read -r f; do is_elf "$f" && elf_libs "$f"; done
          } | LC_ALL=C sort -u | while read -r f; do [[ -f $f ]] && sha256sum "$f"; done
          sha256sum "$0" )
  hash=$(printf '%s' "$hash" | sha256sum | cut -c1-16)
  cached="$(dirname "$out")/.userland-$hash.cpio"
  if [[ ! -f $cached ]]; then
    stage=$(mktemp -d "$(dirname "$out")/.stage-userland.XXXXXX")
    TEMP_DIRS+=("$stage")
    # Mirror merged-/usr: /lib, /bin, ... are the same symlinks they are on the host.
    for d in bin sbin lib lib32 lib64 libx32; do
      [[ -L /$d ]] && ln -s "$(readlink "/$d")" "$stage/$d"
    done
    mkdir -p "$stage/usr/bin" "$stage/usr/sbin" "$stage/usr/lib"
    while read -r f; do
      [[ -n $f ]] || continue
      if [[ $f == "$KERNELS_DIR/guest/init" ]]; then
        install -m 0755 "$f" "$stage/init"
        continue
      fi
      stage_path "$stage" "$f"
      if is_elf "$f"; then
        for lib in $(elf_libs "$f"); do stage_path "$stage" "$lib"; done
      fi
    done <<< "$inputs"
    printf '127.0.0.1 localhost stasis-guest\n::1 localhost ip6-localhost\n' > "$stage/etc/hosts"
    mkdir -p "$stage/proc" "$stage/sys" "$stage/dev" "$stage/tmp" "$stage/run" "$stage/root"
    make_cpio "$stage" "$cached"
    # Old images of this build are of no further use.
    find "$(dirname "$out")" -maxdepth 1 -name '.userland-*.cpio' ! -name "${cached##*/}" -delete
  fi
  ln -f "$cached" "$out" 2>/dev/null || cp "$cached" "$out"
}

# Module name as modprobe compares it: no directory, no .ko[.xz|.zst|.gz], '-' == '_'.
mod_key() { local b=${1##*/}; b=${b%%.ko*}; printf '%s\n' "${b//-/_}"; }

build_modules() {
  local name=$1 out=$2 dir mdir hash cached stage
  kdef_load "$name"
  [[ $KDEF_KIND == debian ]] || kdie "kernel '$name' is not a VM kernel"
  dir=$(kdef_unpack_dir)
  [[ -f $dir/.complete ]] || "$KERNELS_DIR/fetch.sh" "$name" > /dev/null
  mdir="$dir/lib/modules/$KDEF_RELEASE"
  hash=$(cat "$KERNELS_DIR/guest/modules.list" "$0" | sha256sum | cut -c1-16)
  cached="$dir/stasis-modules-$hash.cpio"
  if [[ ! -f $cached ]]; then
    local -A dep_of=() path_of=() builtin=() done_=()
    local line key mpath deps order=() m
    while IFS= read -r line; do
      mpath=${line%%:*}; deps=${line#*:}
      key=$(mod_key "$mpath")
      path_of[$key]=$mpath; dep_of[$key]=$deps
    done < "$mdir/modules.dep"
    if [[ -f $mdir/modules.builtin ]]; then
      while IFS= read -r line; do builtin[$(mod_key "$line")]=1; done < "$mdir/modules.builtin"
    fi
    resolve() {
      local k=$1 d
      [[ -n ${done_[$k]:-} ]] && return 0
      done_[$k]=1
      for d in ${dep_of[$k]}; do resolve "$(mod_key "$d")"; done
      order+=("${path_of[$k]}")
    }
    while read -r m; do
      key=$(mod_key "$m")
      if [[ -n ${path_of[$key]:-} ]]; then resolve "$key"
      elif [[ -n ${builtin[$key]:-} ]]; then :
      else kmsg "$name: module $m is neither a module nor built in; the guest goes without it"
      fi
    done < <(klist_read "$KERNELS_DIR/guest/modules.list")

    stage=$(mktemp -d "$dir/.stage-modules.XXXXXX")
    TEMP_DIRS+=("$stage")
    # The userland part may make /lib a symlink (merged /usr); an archive entry "lib" of another
    # type would replace it, so the modules go where /lib really leads.
    local lib_dir=/lib src dst guest_dir
    [[ -L /lib ]] && lib_dir=/$(readlink /lib)
    guest_dir="$lib_dir/modules/$KDEF_RELEASE"
    mkdir -p "$stage$guest_dir"
    for mpath in "${order[@]}"; do
      src="$mdir/$mpath"
      dst="$stage$guest_dir/${mpath%.*}"
      [[ $mpath == *.ko ]] && dst="$stage$guest_dir/$mpath"
      mkdir -p "$(dirname "$dst")"
      case $src in
        *.ko) cp "$src" "$dst" ;;
        *.ko.xz) xz -dc "$src" > "$dst" ;;
        *.ko.zst) zstd -qdc "$src" > "$dst" ;;
        *.ko.gz) gzip -dc "$src" > "$dst" ;;
        *) kdie "$src: unknown module compression" ;;
      esac
      echo "${dst#"$stage"}" >> "$stage$lib_dir/modules/stasis-load.order"
    done
    touch "$stage$lib_dir/modules/stasis-load.order"
    make_cpio "$stage" "$cached"
  fi
  ln -f "$cached" "$out" 2>/dev/null || cp "$cached" "$out"
}

build_job() {
  local dir=$1 out=$2 stage
  stage=$(mktemp -d)
  TEMP_DIRS+=("$stage")
  mkdir -p "$stage/job"
  cp -a "$dir/." "$stage/job/"
  make_cpio "$stage" "$out"
}

build_initrd() {
  local build=$1 name=$2 jobdir=$3 out=$4 work
  work=$(dirname "$out")
  mkdir -p "$work"
  build_userland "$build" "$work/userland.cpio"
  build_modules "$name" "$work/modules.cpio"
  build_job "$jobdir" "$work/job.cpio"
  cat "$work/userland.cpio" "$work/modules.cpio" "$work/job.cpio" > "$out"
  rm -f "$work/userland.cpio" "$work/modules.cpio" "$work/job.cpio"
}

cmd=${1:-}
case $cmd in
  userland) (($# == 3)) || kdie "usage: $0 userland BUILD OUT"; mkdir -p "$(dirname "$3")"
            build_userland "$2" "$3" ;;
  modules) (($# == 3)) || kdie "usage: $0 modules KERNEL OUT"; build_modules "$2" "$3" ;;
  job) (($# == 3)) || kdie "usage: $0 job DIR OUT"; build_job "$2" "$3" ;;
  initrd) (($# == 5)) || kdie "usage: $0 initrd BUILD KERNEL JOBDIR OUT"
          build_initrd "$2" "$3" "$4" "$5" ;;
  *) kdie "usage: $0 userland|modules|job|initrd ..." ;;
esac
