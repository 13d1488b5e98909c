#!/usr/bin/env bash
# Tests the Debian package the way a user meets it: builds the .deb, checks it with lintian and
# systemd-analyze, installs it with apt into a throw-away Debian 12 root, runs the installed binary there,
# upgrades to a rebuilt package over a locally edited conffile, then removes and purges it.
#
# Needs root (debootstrap, chroot). Installs debootstrap, lintian, systemd and dpkg-dev with apt-get when
# they are missing. The Debian mirror is the host's (from its apt sources) unless DEBIAN_MIRROR is set.
# The bootstrapped root is cached as a tarball under PACKAGE_TEST_CACHE (/var/cache/outrider-package-test).
#
# Prints one line per check and ends with "N passed, N failed"; exits non-zero when any check failed.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 1

work="$repo/.build-package-test"
cache="${PACKAGE_TEST_CACHE:-/var/cache/outrider-package-test}"
suite=bookworm
root="$work/root"
log="$work/log"
passed=0
failed=0

say() { echo "package-test: $*"; }
pass() { passed=$((passed + 1)); echo "PASS: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/      /'; }

# check DESCRIPTION COMMAND...: runs COMMAND, passes when it exits 0, shows its output when it fails.
check() {
    local description="$1" output
    shift
    if output=$("$@" 2>&1); then
        pass "$description"
    else
        fail "$description" "$output"
    fi
}

summary() {
    if [ "${skipped:-0}" -gt 0 ]; then
        echo "$passed passed, $failed failed, $skipped skipped"
    else
        echo "$passed passed, $failed failed"
    fi
    [ "$failed" -eq 0 ]
}

# A failure that leaves nothing further to test.
abort() {
    fail "$1" "${2:-}"
    summary
    exit 1
}

in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }

mounted=""
nspawn_pid=""
cleanup() {
    # A container still running (the script was interrupted): stop it before its root goes.
    if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
        kill -TERM "$nspawn_pid" 2>/dev/null
        for _ in $(seq 1 30); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 1; done
        kill -KILL "$nspawn_pid" 2>/dev/null
        wait "$nspawn_pid" 2>/dev/null
    fi
    if [ -n "$mounted" ]; then
        umount "$root/proc" 2>/dev/null || umount -l "$root/proc" 2>/dev/null || true
    fi
    # Only once nothing is mounted inside it.
    if ! grep -qs " $root/" /proc/mounts; then
        rm -rf "$root"
    fi
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || abort "package-test needs root: it bootstraps and chroots into a Debian root"

rm -rf "$work"
mkdir -p "$work" "$cache"

# Tools --------------------------------------------------------------------------------------------------
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v lintian >/dev/null || need+=(lintian)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v dpkg-shlibdeps >/dev/null || need+=(dpkg-dev)
command -v strip >/dev/null || need+=(binutils)
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "${need[@]}" >"$log" 2>&1 \
        || { apt-get update -qq >>"$log" 2>&1 && apt-get install -y -qq --no-install-recommends "${need[@]}" >>"$log" 2>&1; } \
        || abort "installing ${need[*]} with apt-get" "$(tail -20 "$log")"
fi

# Build ------------------------------------------------------------------------------------------------
upstream=$(make -s --no-print-directory version)
version="${upstream}-${DEB_REVISION:-1}"
next_version="${upstream}+test1-${DEB_REVISION:-1}"

say "building the package (make deb)"
deb=$(bash packaging/build-deb.sh 2>"$work/build.log" | tail -1) || abort "make deb" "$(tail -30 "$work/build.log")"
arch=$(dpkg --print-architecture)
[ "$deb" = "$repo/dist/outrider_${version}_${arch}.deb" ] && [ -f "$deb" ] \
    && pass "make deb built dist/outrider_${version}_${arch}.deb" \
    || abort "make deb built dist/outrider_${version}_${arch}.deb" "it printed: $deb"

# The upgrade: the same binary as a later version, whose default configuration differs from the first's, so
# dpkg has to choose between the local edit and the new default.
binary="$repo/.build-release/release/outrider"
next_deb=$(bash packaging/build-deb.sh --version "$next_version" --binary "$binary" --out "$work/next" 2>>"$work/build.log" | tail -1) \
    || abort "building the upgrade package $next_version" "$(tail -30 "$work/build.log")"
dpkg-deb -R "$next_deb" "$work/next/tree"
printf '\n# Default changed in %s.\n' "$next_version" >> "$work/next/tree/etc/outrider/outrider.yaml"
dpkg-deb --root-owner-group -Zxz --build "$work/next/tree" "$next_deb" >/dev/null \
    && pass "built the upgrade package $next_version with a changed default configuration" \
    || abort "rebuilding the upgrade package"

# Contents ---------------------------------------------------------------------------------------------
say "package information"
dpkg-deb --info "$deb" | sed 's/^/    /'
say "package contents"
dpkg-deb --contents "$deb" | sed 's/^/    /'

contents=$(dpkg-deb --contents "$deb" | awk '{print $6}')
for path in ./usr/bin/outrider ./etc/outrider/outrider.yaml ./lib/systemd/system/outrider.service \
    ./usr/share/doc/outrider/copyright ./usr/share/doc/outrider/changelog.Debian.gz \
    ./usr/share/man/man1/outrider.1.gz; do
    grep -qx -- "$path" <<<"$contents" && pass "package has $path" || fail "package has $path"
done
example_count=$(grep -c '^\./usr/share/doc/outrider/examples/.*\.yaml$' <<<"$contents")
[ "$example_count" -gt 0 ] && pass "package has $example_count example configurations" \
    || fail "package has example configurations under /usr/share/doc/outrider/examples"
[ "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)" = "/etc/outrider/outrider.yaml" ] \
    && pass "/etc/outrider/outrider.yaml is the one conffile" || fail "/etc/outrider/outrider.yaml is the one conffile"
depends=$(dpkg-deb --field "$deb" Depends)
grep -q 'libc6 (>= ' <<<"$depends" && grep -q adduser <<<"$depends" \
    && pass "Depends computed by dpkg-shlibdeps: $depends" || fail "Depends computed by dpkg-shlibdeps" "$depends"
[ "$(dpkg-deb --field "$deb" Version)" = "$version" ] && pass "Version is $version (make version)" \
    || fail "Version is $version"
if readelf -d "$repo/.build-deb/debian/outrider/usr/bin/outrider" | grep NEEDED | grep -q swift; then
    fail "the Swift standard library is linked statically" "$(readelf -d "$repo/.build-deb/debian/outrider/usr/bin/outrider" | grep NEEDED)"
else
    pass "the Swift standard library is linked statically"
fi

# lintian ----------------------------------------------------------------------------------------------
say "lintian $(lintian --print-version)"
# Overridden tags are shown with the reasons the overrides file gives, but only the others count.
lintian --display-info --show-overrides "$deb" 2>&1 | grep -v 'not recommended' | sed 's/^/    /'
if lintian_output=$(lintian --fail-on error,warning "$deb" 2>&1); then
    pass "lintian: no errors or warnings that are not overridden"
else
    fail "lintian: no errors or warnings that are not overridden" "$lintian_output"
fi

# Throw-away Debian 12 root ----------------------------------------------------------------------------
mirror="${DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
    # The first deb source for the suite in the host's apt sources, one-line or deb822 format.
    mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v suite="$suite" '
        /^URIs:/ { uri = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite && uri != "") { print uri; exit } }')
fi
if [ -z "$mirror" ]; then
    mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
        | awk -v suite="$suite" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i == suite) { print (($2 ~ /^\[/) ? $3 : $2); exit } }')
fi
mirror="${mirror:-http://deb.debian.org/debian}"

tarball="$cache/$suite-minbase-systemd-man-db.tar"
if [ ! -f "$tarball" ]; then
    say "bootstrapping Debian $suite (minbase, systemd and man-db) into $root; cached for later runs"
    if debootstrap --variant=minbase --include=systemd,man-db "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1; then
        tar -C "$root" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
    else
        abort "debootstrap $suite" "$(tail -20 "$work/debootstrap.log"; tail -20 "$root/debootstrap/debootstrap.log" 2>/dev/null)"
    fi
else
    mkdir -p "$root"
    tar -C "$root" -xf "$tarball" || abort "unpacking the cached root $tarball"
fi
pass "Debian $suite root ready"
# A snapshot mirror's Release files may be past their Valid-Until date.
echo 'Acquire::Check-Valid-Until "false";' > "$root/etc/apt/apt.conf.d/99package-test"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
if mount -t proc proc "$root/proc" 2>/dev/null; then mounted=yes; fi
[ ! -e "$root/run/systemd/system" ] && pass "systemd is not running in the root, as in a chroot or container" \
    || fail "systemd is not running in the root"

in_root apt-get update -qq >"$work/apt-update.log" 2>&1 || abort "apt-get update in the root" "$(tail -20 "$work/apt-update.log")"

# Install ----------------------------------------------------------------------------------------------
# Not /tmp: systemd-nspawn mounts an empty tmpfs there.
cp "$deb" "$next_deb" "$root/var/tmp/"
deb_in_root="/var/tmp/$(basename "$deb")"
next_in_root="/var/tmp/$(basename "$next_deb")"

say "apt-get install $deb_in_root"
if in_root apt-get install -y --no-install-recommends "$deb_in_root" >"$work/install.log" 2>&1; then
    pass "apt-get install ./$(basename "$deb") (pulls its dependencies from the mirror)"
else
    abort "apt-get install ./$(basename "$deb")" "$(tail -30 "$work/install.log")"
fi
status=$(in_root dpkg-query -W -f='${Status} ${Version}' outrider 2>&1)
[ "$status" = "install ok installed $version" ] && pass "dpkg: $status" || fail "dpkg status" "$status"

output=$(in_root /usr/bin/outrider version 2>&1)
grep -qF "$upstream" <<<"$output" && pass "outrider version prints $upstream" || fail "outrider version prints $upstream" "$output"
check "outrider check-config --config /etc/outrider/outrider.yaml" \
    in_root /usr/bin/outrider check-config --config /etc/outrider/outrider.yaml
# As ExecStartPre does: the unprivileged daemon user reads the configuration.
check "check-config as the outrider user" \
    chroot --userspec=outrider:outrider "$root" /usr/bin/outrider check-config --config /etc/outrider/outrider.yaml
for example in "$root"/usr/share/doc/outrider/examples/*.yaml; do
    [ -f "$example" ] || continue
    check "example ${example##*/} passes check-config" \
        in_root /usr/bin/outrider check-config --config "${example#"$root"}"
done
if in_root /usr/bin/outrider check-config --config /nonexistent.yaml >/dev/null 2>&1; then
    fail "check-config fails on a missing configuration file"
else
    pass "check-config fails on a missing configuration file"
fi

user=$(in_root getent passwd outrider)
IFS=: read -r _ _ uid gid _ home shell <<<"$user"
if [ -n "$user" ] && [ "$uid" -lt 1000 ] && [ "$home" = /var/lib/outrider ] && [ "$shell" = /usr/sbin/nologin ] \
    && [ "$(in_root getent group outrider | cut -d: -f3)" = "$gid" ]; then
    pass "system user and group outrider: $user"
else
    fail "system user and group outrider" "passwd: $user"
fi
for dir in /var/lib/outrider /var/cache/outrider; do
    owner=$(in_root stat -c '%U:%G %a' "$dir" 2>&1)
    [ "$owner" = "outrider:outrider 750" ] && pass "$dir is outrider:outrider 750" || fail "$dir is outrider:outrider 750" "$owner"
done
[ -L "$root/etc/systemd/system/multi-user.target.wants/outrider.service" ] \
    && pass "outrider.service is enabled (multi-user.target.wants)" || fail "outrider.service is enabled"

# systemd-analyze --------------------------------------------------------------------------------------
say "systemd-analyze verify /lib/systemd/system/outrider.service (in the root, where the binary and user exist)"
if verify_output=$(in_root systemd-analyze verify /lib/systemd/system/outrider.service 2>&1); then
    printf '%s\n' "${verify_output:-(no findings)}" | sed 's/^/    /'
    pass "systemd-analyze verify outrider.service"
else
    fail "systemd-analyze verify outrider.service" "$verify_output"
fi
if security=$(in_root systemd-analyze security --offline=true /lib/systemd/system/outrider.service 2>&1); then
    say "systemd-analyze security: $(grep -o 'Overall exposure level.*' <<<"$security")"
fi

# The daemon and systemd ------------------------------------------------------------------------------
say "running the installed daemon with NOTIFY_SOCKET set, as Type=notify does"
notify_output=$(python3 packaging/notify-check.py "$root" "$work/run.log" 2>&1)
printf '%s\n' "$notify_output"
passed=$((passed + $(grep -c '^PASS: ' <<<"$notify_output")))
failed=$((failed + $(grep -c '^FAIL: ' <<<"$notify_output")))
if grep -q '^FAIL: ' <<<"$notify_output" || ! grep -q '^PASS: ' <<<"$notify_output"; then
    [ -s "$work/run.log" ] && say "the daemon's output:" && tail -20 "$work/run.log" | sed 's/^/    /'
    grep -q '^PASS: \|^FAIL: ' <<<"$notify_output" || fail "notify-check.py ran"
fi

# The unit under systemd ---------------------------------------------------------------------------------
# Boots the root with systemd as its PID 1 (systemd-nspawn, loopback only) so the unit runs with its real
# sandbox: started at boot because it is enabled, reloaded, restarted after a crash, stopped. Skipped, not
# failed, where containers cannot boot here.
skipped=0
boot_root() {
    umount "$root/proc" 2>/dev/null && mounted=""
    rm -f "$root/etc/apt/apt.conf.d/99package-test"
    setsid systemd-nspawn --keep-unit --register=no --console=passive --private-network \
        --boot --directory="$root" >"$work/nspawn.log" 2>&1 </dev/null &
    nspawn_pid=$!
    container_init=""
    for _ in $(seq 1 60); do
        # The container's PID 1 is the child of systemd-nspawn that runs systemd; a short-lived helper child
        # comes first.
        container_init=$(pgrep --parent "$nspawn_pid" --exact systemd | head -1)
        [ -n "$container_init" ] && break
        kill -0 "$nspawn_pid" 2>/dev/null || { echo "systemd-nspawn exited before starting the container" >>"$work/nspawn.log"; return 1; }
        sleep 1
    done
    [ -n "$container_init" ] || { echo "no container after 60s" >>"$work/nspawn.log"; return 1; }
    # is-system-running --wait needs D-Bus, which the minimal root does not have; wait for the boot job instead.
    for _ in $(seq 1 90); do
        in_container systemctl is-active --quiet multi-user.target 2>/dev/null && return 0
        kill -0 "$nspawn_pid" 2>/dev/null || { echo "systemd-nspawn exited during boot" >>"$work/nspawn.log"; return 1; }
        sleep 1
    done
    { echo "multi-user.target not reached after 90s; jobs:"; in_container systemctl list-jobs --no-pager; } >>"$work/nspawn.log" 2>&1
    return 1
}
in_container() { nsenter --target "$container_init" --all env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin SYSTEMD_COLORS=0 LC_ALL=C.UTF-8 "$@"; }
unit_property() { in_container systemctl show outrider.service --property="$1" --value; }
poweroff_root() {
    in_container systemctl poweroff >/dev/null 2>&1
    for _ in $(seq 1 60); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 1; done
    if kill -0 "$nspawn_pid" 2>/dev/null; then kill -KILL "$nspawn_pid"; fi
    wait "$nspawn_pid" 2>/dev/null
    echo 'Acquire::Check-Valid-Until "false";' > "$root/etc/apt/apt.conf.d/99package-test"
    if mount -t proc proc "$root/proc" 2>/dev/null; then mounted=yes; fi
}

if ! command -v systemd-nspawn >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd-container >>"$log" 2>&1
fi
if ! command -v systemd-nspawn >/dev/null; then
    skipped=1
    say "SKIP: the unit under systemd: systemd-nspawn (systemd-container) could not be installed"
elif ! boot_root; then
    skipped=1
    say "SKIP: the unit under systemd: the root did not boot with systemd-nspawn here:"
    tail -25 "$work/nspawn.log" | sed 's/^/    /'
    if [ -n "${nspawn_pid:-}" ]; then poweroff_root; fi
else
    say "booted the root with systemd as PID 1 (systemd-nspawn)"
    [ "$(unit_property ActiveState)/$(unit_property SubState)" = active/running ] \
        && pass "systemd started outrider.service at boot (Type=notify: READY=1 arrived)" \
        || fail "systemd started outrider.service at boot" "$(in_container systemctl status outrider --no-pager 2>&1 | tail -20)"
    main_pid=$(unit_property MainPID)
    daemon_status=$(in_container cat "/proc/$main_pid/status" 2>/dev/null)
    [ "$(awk '/^Uid:/ { print $2 }' <<<"$daemon_status")" = "$(in_container id -u outrider)" ] \
        && pass "the daemon runs as the outrider user" || fail "the daemon runs as the outrider user" "$daemon_status"
    # CAP_NET_BIND_SERVICE is capability 10.
    [ "$(awk '/^CapEff:/ { print $2 }' <<<"$daemon_status")" = 0000000000000400 ] \
        && pass "its only capability is CAP_NET_BIND_SERVICE" \
        || fail "its only capability is CAP_NET_BIND_SERVICE" "$(grep ^Cap <<<"$daemon_status")"

    check "systemctl reload outrider" in_container systemctl reload outrider
    [ "$(unit_property MainPID)" = "$main_pid" ] && [ "$(unit_property ActiveState)" = active ] \
        && pass "the reload kept the daemon running (same main PID)" || fail "the reload kept the daemon running"

    cp "$root/etc/outrider/outrider.yaml" "$work/outrider.yaml.saved"
    printf 'shutdown_grace: [not, a, duration\n' >> "$root/etc/outrider/outrider.yaml"
    if in_container systemctl reload outrider >/dev/null 2>&1; then
        fail "a reload with a broken configuration fails"
    else
        pass "a reload with a broken configuration fails"
    fi
    [ "$(unit_property MainPID)" = "$main_pid" ] && [ "$(unit_property ActiveState)" = active ] \
        && pass "the daemon keeps running on its previous configuration" \
        || fail "the daemon keeps running on its previous configuration" "$(in_container systemctl status outrider --no-pager 2>&1 | tail -10)"
    cp "$work/outrider.yaml.saved" "$root/etc/outrider/outrider.yaml"

    in_container kill -KILL "$main_pid"
    restarted=""
    for _ in $(seq 1 20); do
        sleep 1
        if [ "$(unit_property ActiveState)" = active ] && [ "$(unit_property MainPID)" != "$main_pid" ] \
            && [ "$(unit_property MainPID)" != 0 ]; then restarted=yes; break; fi
    done
    [ -n "$restarted" ] && pass "Restart=on-failure brought the daemon back after SIGKILL" \
        || fail "Restart=on-failure brought the daemon back after SIGKILL" "$(in_container systemctl status outrider --no-pager 2>&1 | tail -10)"

    started=$(date +%s)
    check "systemctl stop outrider" in_container systemctl stop outrider
    stopped_after=$(( $(date +%s) - started ))
    [ "$(unit_property ActiveState)" = inactive ] && [ "$(unit_property Result)" = success ] \
        && pass "stopped cleanly in ${stopped_after}s (Result=success, within TimeoutStopSec)" \
        || fail "stopped cleanly" "ActiveState=$(unit_property ActiveState) Result=$(unit_property Result)"
    # The maintainer scripts where systemd runs: dpkg starts, restarts and stops the daemon.
    dpkg_in_container() { in_container DEBIAN_FRONTEND=noninteractive dpkg --force-confdef --force-confold "$@" >>"$work/container-dpkg.log" 2>&1; }
    if dpkg_in_container -i "$deb_in_root" && [ "$(unit_property ActiveState)" = active ]; then
        pass "reinstalling with systemd running starts the stopped daemon"
    else
        fail "reinstalling with systemd running starts the stopped daemon" "$(tail -10 "$work/container-dpkg.log")"
    fi
    main_pid=$(unit_property MainPID)
    if dpkg_in_container -i "$deb_in_root" && [ "$(unit_property ActiveState)" = active ] \
        && [ "$(unit_property MainPID)" != "$main_pid" ]; then
        pass "upgrading with systemd running restarts the daemon"
    else
        fail "upgrading with systemd running restarts the daemon" "$(tail -10 "$work/container-dpkg.log")"
    fi
    if dpkg_in_container --remove outrider && [ "$(unit_property ActiveState)" != active ] \
        && ! in_container pgrep -x outrider >/dev/null; then
        pass "removing with systemd running stops the daemon first"
    else
        fail "removing with systemd running stops the daemon first" "$(tail -10 "$work/container-dpkg.log")"
    fi
    if dpkg_in_container -i "$deb_in_root" && [ "$(unit_property ActiveState)" = active ]; then
        pass "installing again with systemd running starts the daemon"
    else
        fail "installing again with systemd running starts the daemon" "$(tail -10 "$work/container-dpkg.log")"
    fi

    say "journal of outrider.service in the booted root:"
    in_container journalctl --unit=outrider --no-pager --output=short 2>&1 | tail -25 | sed 's/^/    /'
    poweroff_root
fi

# Upgrade over a local edit ----------------------------------------------------------------------------
printf '\n# Local edit: this host only.\n' >> "$root/etc/outrider/outrider.yaml"
echo state > "$root/var/lib/outrider/package-test"
echo cache > "$root/var/cache/outrider/package-test"
say "upgrading to $next_version"
if in_root apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-confdef \
    -o Dpkg::Options::=--force-confold "$next_in_root" >"$work/upgrade.log" 2>&1; then
    pass "upgrade to $next_version"
else
    fail "upgrade to $next_version" "$(tail -30 "$work/upgrade.log")"
fi
status=$(in_root dpkg-query -W -f='${Status} ${Version}' outrider 2>&1)
[ "$status" = "install ok installed $next_version" ] && pass "dpkg: $status" || fail "dpkg status after upgrade" "$status"
grep -q '^# Local edit: this host only.$' "$root/etc/outrider/outrider.yaml" \
    && pass "the local edit of /etc/outrider/outrider.yaml survived the upgrade" \
    || fail "the local edit of /etc/outrider/outrider.yaml survived the upgrade" "$(tail -5 "$root/etc/outrider/outrider.yaml")"
grep -q "^# Default changed in $next_version.$" "$root/etc/outrider/outrider.yaml.dpkg-dist" 2>/dev/null \
    && pass "the new default configuration is beside it as outrider.yaml.dpkg-dist" \
    || fail "the new default configuration is beside it as outrider.yaml.dpkg-dist"
[ -f "$root/var/lib/outrider/package-test" ] && [ -f "$root/var/cache/outrider/package-test" ] \
    && pass "state and cache survived the upgrade" || fail "state and cache survived the upgrade"
check "outrider check-config on the edited configuration after the upgrade" \
    in_root /usr/bin/outrider check-config --config /etc/outrider/outrider.yaml

# Remove, then purge -----------------------------------------------------------------------------------
if in_root apt-get remove -y outrider >"$work/remove.log" 2>&1; then
    pass "apt-get remove outrider"
else
    fail "apt-get remove outrider" "$(tail -20 "$work/remove.log")"
fi
[ ! -e "$root/usr/bin/outrider" ] && [ -f "$root/etc/outrider/outrider.yaml" ] && [ -f "$root/var/lib/outrider/package-test" ] \
    && pass "remove deletes the binary and keeps configuration and state" \
    || fail "remove deletes the binary and keeps configuration and state"
if in_root dpkg --purge outrider >"$work/purge.log" 2>&1; then
    pass "dpkg --purge outrider"
else
    fail "dpkg --purge outrider" "$(tail -20 "$work/purge.log")"
fi
leftovers=""
for path in /etc/outrider /var/lib/outrider /var/cache/outrider /etc/systemd/system/multi-user.target.wants/outrider.service; do
    if [ -e "$root$path" ] || [ -L "$root$path" ]; then leftovers="$leftovers $path"; fi
done
[ -z "$leftovers" ] && pass "purge removes configuration, state, cache and the unit's enablement" \
    || fail "purge removes configuration, state, cache and the unit's enablement" "left:$leftovers"
[ -z "$(in_root dpkg-query -W -f='${Status}' outrider 2>/dev/null | grep -v not-installed)" ] \
    && pass "dpkg no longer knows outrider" || fail "dpkg no longer knows outrider"

summary
