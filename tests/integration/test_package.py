#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The Debian packages (docs/packaging.md).

ManPages: firegate(8) describes every command, option and exit status that `firegate --help`
and each `firegate COMMAND --help` name, firegate.conf(5) every key of docs/configuration.md,
and groff formats both without a warning.

Amd64Package: scripts/package builds the amd64 .deb, whose control fields and Depends name the
library packages of everything the binaries link; only firegate-web, the desk page's server in
/usr/libexec/firegate, links libmicrohttpd, never the daemon's /usr/bin/firegate. Installed with
dpkg into a throw-away root (dpkg --root with --force-script-chrootless, so the maintainer
scripts run against that root through DPKG_ROOT, as Debian's own bootstrapping tools install
packages): every file is where Debian 12 puts it, the config and the rules are conffiles,
postinst made the users and directories and enabled the units without starting them, the units
pass systemd-analyze verify, an edited config survives a reinstall and an upgrade while an
unedited rule file is updated, and a purge keeps the store (the incident log is evidence).

Arm64Package: the arm64 cross build: its unit tests pass under qemu user mode, the packed
binaries are AArch64 ELFs with Debian's arm64 loader and run under qemu, and Depends names the
arm64 library packages.

The build trees are package-ARCH in $FIREGATE_BUILD_DIR: only the first run on a build
directory compiles; later ones rebuild what changed and pack again in a few seconds. Pass
class names to run a part (ctest runs the arm64 part as its own test).
"""

import gzip
import json
import os
import re
import shutil
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
import fgtest  # noqa: E402

ROOT = fgtest.ROOT
PACKAGE = ROOT / "scripts" / "package"
BUILD = Path(os.environ.get("FIREGATE_BUILD_DIR", ROOT / "build" / "debug"))
VERSION = re.search(r"project\(firegate VERSION ([0-9.]+)",
                    (ROOT / "CMakeLists.txt").read_text()).group(1)
DEB_VERSION = f"{VERSION}-1"
MAN8 = ROOT / "docs" / "man" / "firegate.8"
MAN5 = ROOT / "docs" / "man" / "firegate.conf.5"
# The packages of the libraries the binaries link: the same names on amd64 and arm64.
LIBRARY_PACKAGES = ["libc6", "libmosquitto1", "libpaho-mqtt1.3", "libsqlite3-0", "libgpiod2",
                    "libsystemd0", "libssl3", "libjansson4", "libinih1", "libsodium23",
                    "libmicrohttpd12"]
FIREGATE = "/usr/bin/firegate"
# The desk page's server, which `firegate web` runs in its place; it alone links the HTTP and
# TLS libraries, so the daemon does not map them.
FIREGATE_WEB = "/usr/libexec/firegate/firegate-web"
LIBRARY_SONAMES = {
    FIREGATE: ["libmosquitto.so.1", "libpaho-mqtt3as.so.1", "libsqlite3.so.0", "libgpiod.so.2",
               "libsystemd.so.0", "libcrypto.so.3", "libjansson.so.4", "libinih.so.1",
               "libsodium.so.23", "libc.so.6"],
    FIREGATE_WEB: ["libmicrohttpd.so.12", "libsqlite3.so.0", "libsystemd.so.0", "libjansson.so.4",
                   "libsodium.so.23", "libc.so.6"],
}
# What only the desk's server may need: libmicrohttpd and the TLS stack behind it.
WEB_ONLY = ("libmicrohttpd", "libgnutls")
MULTIARCH = {"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}
RULE_FILES = sorted(p.name for p in (ROOT / "rules").glob("*.rules"))
CONFFILES = ["/etc/firegate/firegate.conf"] + [f"/etc/firegate/rules/{r}" for r in RULE_FILES]
EXPECTED_FILES = (
    [FIREGATE, FIREGATE_WEB, "/lib/systemd/system/firegate.service",
     "/lib/systemd/system/firegate-web.service", "/usr/lib/sysusers.d/firegate.conf",
     "/usr/lib/tmpfiles.d/firegate.conf", "/usr/share/man/man8/firegate.8.gz",
     "/usr/share/man/man5/firegate.conf.5.gz", "/usr/share/doc/firegate/README.md",
     "/usr/share/doc/firegate/copyright", "/usr/share/doc/firegate/examples/firegate.conf"]
    + CONFFILES
    + [f"/usr/share/doc/firegate/{p.name}" for p in sorted((ROOT / "docs").glob("*.md"))]
    + [f"/usr/share/firegate/www/{p.relative_to(ROOT / 'gateway/www')}"
       for p in sorted((ROOT / "gateway" / "www").rglob("*")) if p.is_file()])
# Where a package for Debian 12 may put files.
ALLOWED_TOP = ("/etc/firegate/", "/lib/systemd/system/", "/usr/bin/", "/usr/lib/sysusers.d/",
               "/usr/lib/tmpfiles.d/", "/usr/libexec/firegate/", "/usr/share/doc/firegate/",
               "/usr/share/firegate/", "/usr/share/man/")
FIRST_INSTALL_NOTE = "firegate: configure this gateway"


def explain(done):
    return f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"


def roff_text(path):
    """A roff source with its escapes for '-' and fonts taken out, for searching."""
    text = path.read_text()
    return re.sub(r"\\f[BIRP]|\\%", "", text).replace("\\-", "-")


def build_package(arch, out, *options, timeout):
    """Runs scripts/package; returns the .deb, its CompletedProcess and the seconds taken."""
    started = time.monotonic()
    done = fgtest.run(PACKAGE, arch, "--build", BUILD, "--out", out, *options, timeout=timeout)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise AssertionError(f"scripts/package {arch} failed: {explain(done)}")
    debs = [Path(line) for line in done.stdout.split()]
    if len(debs) != 1 or not debs[0].is_file():
        raise AssertionError(f"scripts/package {arch} printed {debs}, expected one .deb")
    return debs[0], done, seconds


def control_fields(deb):
    out = fgtest.run("dpkg-deb", "-f", deb, check=0).stdout
    return dict(re.findall(r"^([A-Za-z-]+): (.*)$", out, flags=re.M))


def depends_names(depends):
    """Package names in a Depends value, alternatives included."""
    return {alt.strip().split(" ")[0].split(":")[0]
            for clause in depends.split(",") for alt in clause.split("|")}


def deb_paths(deb):
    """The paths of the files (not directories) a .deb holds, as absolute paths."""
    out = fgtest.run("dpkg-deb", "-c", deb, check=0).stdout
    paths = []
    for line in out.splitlines():
        mode, name = line.split()[0], line.split(None, 5)[5].split(" -> ")[0]
        if not mode.startswith("d"):
            paths.append(name[1:] if name.startswith(".") else name)
    return paths


def readelf(binary):
    out = fgtest.run("readelf", "-h", "-l", "-d", binary, check=0).stdout

    def field(pattern):
        m = re.search(pattern, out, flags=re.M)
        return m.group(1).strip() if m else None

    return {"class": field(r"^\s*Class:\s*(.*)$"), "machine": field(r"^\s*Machine:\s*(.*)$"),
            "interpreter": field(r"Requesting program interpreter: ([^\]]+)\]"),
            "needed": re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)}


def library_owners(arch, sonames):
    """soname -> (package, architecture) of the installed package that holds it."""
    owners = {}
    for soname in sonames:
        done = fgtest.run("dpkg", "-S", f"*/{MULTIARCH[arch]}/{soname}", check=0)
        line = next(line for line in done.stdout.splitlines() if ": /" in line)
        package = line.split(": /")[0].split(", ")[0]
        name, _, package_arch = package.partition(":")
        owners[soname] = (name, package_arch)
    return owners


def figures(done):
    """The timing line scripts/package printed."""
    m = re.search(r"KiB\); (build .*)$", done.stderr, flags=re.M)
    return m.group(1) if m else "?"


class DpkgRoot:
    """A throw-away root with an empty dpkg database, into which packages install through
    dpkg --root. Maintainer scripts run on the host with DPKG_ROOT set to it
    (--force-script-chrootless): they must touch nothing outside it."""

    def __init__(self, parent):
        self.dir = Path(tempfile.mkdtemp(prefix="root-", dir=parent))
        self.admin = self.dir / "var/lib/dpkg"
        for sub in ("info", "updates", "triggers"):
            (self.admin / sub).mkdir(parents=True)
        (self.admin / "status").touch()
        (self.dir / "var/log").mkdir(parents=True)

    def dpkg(self, *args, check=0):
        # --path-include undoes a host's path-exclude (minimal images drop docs and man pages).
        return fgtest.run("dpkg", f"--root={self.dir}", "--force-script-chrootless",
                          "--force-depends", "--path-include=*", *args, check=check,
                          timeout=120)

    def path(self, absolute):
        return self.dir / absolute.lstrip("/")

    def status(self, field):
        return fgtest.run("dpkg-query", f"--admindir={self.admin}", "-W", "-f",
                          f"${{{field}}}", "firegate", check=0).stdout

    def passwd(self):
        """name -> (uid, gid, home) from the root's /etc/passwd."""
        users = {}
        for line in self.path("/etc/passwd").read_text().splitlines():
            name, _, uid, gid, _, home, _ = line.split(":")
            users[name] = (int(uid), int(gid), home)
        return users

    def groups(self):
        """name -> members from the root's /etc/group."""
        return {f[0]: [m for m in f[3].split(",") if m]
                for f in (line.split(":") for line in
                          self.path("/etc/group").read_text().splitlines())}


@unittest.skipUnless(MAN8.is_file() and MAN5.is_file(), "no manual pages in docs/man")
class ManPages(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.help = fgtest.run(fgtest.BIN, "--help", check=0).stdout
        block = cls.help.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
        cls.commands = re.findall(r"^  (\S+)\s{2,}", block, flags=re.M)
        cls.command_help = {c: fgtest.run(fgtest.BIN, c, "--help", check=0).stdout
                            for c in cls.commands}
        cls.man8 = roff_text(MAN8)
        cls.man5 = roff_text(MAN5)

    def command_block(self, command):
        """The text of @command's item in firegate(8): its tag line to the next command's."""
        lines = self.man8.splitlines()
        tags = []  # (line index, command) of every item tag naming a command
        for i, line in enumerate(lines):
            m = re.match(r"\.BI? (\S+)", line)
            if i > 0 and lines[i - 1] in (".TP", ".TQ") and m and m.group(1) in self.commands:
                tags.append((i, m.group(1)))
        mine = [i for i, name in tags if name == command]
        if not mine:
            return None
        # An item may have several tags (user add, user passwd...): it ends at the next tag
        # of another command.
        end = next((i for i, name in tags if i > mine[0] and name != command), len(lines))
        return "\n".join(lines[mine[0]:end])

    def test_every_command_has_its_item_in_firegate_8(self):
        self.assertGreater(len(self.commands), 20, self.help)
        for command in self.commands:
            if "the same as" in self.help.split(f"\n  {command} ", 1)[1].split("\n")[0]:
                # An alias (ack) is named in its command's item.
                self.assertRegex(self.man8, rf"(?m)^\.B {re.escape(command)}$")
                continue
            self.assertIsNotNone(self.command_block(command),
                                 f"firegate(8) has no item for '{command}'")

    def test_every_option_and_subcommand_of_each_command_is_in_its_item(self):
        for command, text in self.command_help.items():
            block = self.command_block(command)
            if block is None:
                continue  # an alias; the test above names it
            for option in sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text))):
                if option in ("--help", "--config"):
                    continue  # global options, in OPTIONS
                self.assertIn(option, block, f"firegate(8): '{command}' lacks {option}")
            usage = "\n".join(re.findall(r"(?m)^(?:Usage:)? +firegate .*$", text))
            for sub in re.findall(rf"firegate (?:\[--config PATH\] )?{re.escape(command)} "
                                  r"([a-z][a-z-]*)\b", usage):
                self.assertRegex(self.man8, rf"(?m)^\.B {re.escape(command)} {sub}\b",
                                 f"firegate(8) lacks '{command} {sub}'")

    def test_every_global_option_is_in_firegate_8(self):
        options = self.help.split("Options:\n", 1)[1].split("\n\n", 1)[0]
        for option in re.findall(r"(?<![\w-])--?[a-zA-Z][a-z-]*", options):
            self.assertIn(option, self.man8.split(".SH COMMANDS")[0])

    def test_every_exit_status_is_in_firegate_8(self):
        codes = re.findall(r"^  (\d)  ", self.help.split("Exit status:\n", 1)[1], flags=re.M)
        self.assertEqual(codes, ["0", "1", "2", "3", "4"], self.help)
        section = self.man8.split(".SH EXIT STATUS", 1)[1].split(".SH", 1)[0]
        self.assertEqual(re.findall(r"(?m)^\.B (\d)$", section), codes)

    def test_every_key_of_the_configuration_doc_is_in_firegate_conf_5(self):
        doc = (ROOT / "docs" / "configuration.md").read_text()
        rows = re.findall(r"^\| `\[([a-z]+)(?: NAME)?\]` \| ([^|]+)\|", doc, flags=re.M)
        self.assertGreater(len(rows), 30)
        for section, cell in rows:
            sub = re.search(rf"(?ms)^\.SS \[{section}( NAME)?\]\n(.*?)(?=^\.S[SH] )", self.man5)
            self.assertIsNotNone(sub, f"firegate.conf(5) has no [{section}]")
            lines = sub.group(2).splitlines()
            tags = [lines[i + 1] for i, line in enumerate(lines[:-1]) if line == ".TP"]
            for key in re.findall(r"`([a-z0-9_]+)`", cell):
                self.assertTrue(any(re.search(rf'(^|[\s"]){key}([\s"]|$)', t) for t in tags),
                                f"firegate.conf(5) [{section}] lacks {key}")

    def test_groff_formats_both_pages_without_a_warning(self):
        for page in (MAN8, MAN5):
            done = fgtest.run("groff", "-man", "-ww", "-z", "-t", page)
            self.assertEqual((done.returncode, done.stderr), (0, ""), f"{page}: {explain(done)}")


@unittest.skipUnless(os.geteuid() == 0, "dpkg --root installs need root (files are chowned)")
class Amd64Package(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="firegate-package-"))
        cls.deb, cls.built, cls.seconds = build_package("amd64", cls.tmp / "out", timeout=170)
        cls.control = control_fields(cls.deb)
        cls.next_deb = cls.make_next_version()
        print(f"package: amd64 {cls.deb.name} {cls.deb.stat().st_size / 1024:.0f} KiB "
              f"(installed {cls.control.get('Installed-Size')} KiB); scripts/package "
              f"{cls.seconds:.1f} s ({figures(cls.built)})", file=sys.stderr)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def make_next_version(cls):
        """The same package as version -2, with a changed config and first rule file: what an
        upgrade brings."""
        work = cls.tmp / "next"
        fgtest.run("dpkg-deb", "-R", cls.deb, work, check=0)
        control = work / "DEBIAN/control"
        control.write_text(control.read_text().replace(f"Version: {DEB_VERSION}",
                                                       f"Version: {VERSION}-2"))
        md5sums = (work / "DEBIAN/md5sums").read_text()
        for conffile in (CONFFILES[0], CONFFILES[1]):
            path = work / conffile.lstrip("/")
            path.write_text(path.read_text() + "# changed in the next version\n")
            digest = fgtest.run("md5sum", path, check=0).stdout.split()[0]
            md5sums = re.sub(rf"(?m)^[0-9a-f]{{32}}(  {re.escape(conffile.lstrip('/'))})$",
                             rf"{digest}\1", md5sums)
        (work / "DEBIAN/md5sums").write_text(md5sums)
        out = cls.tmp / f"firegate_{VERSION}-2_amd64.deb"
        fgtest.run("dpkg-deb", "--root-owner-group", "-b", work, out, check=0)
        return out

    def install(self):
        root = DpkgRoot(self.tmp)
        done = root.dpkg("-i", self.deb)
        return root, done

    def test_the_control_fields_describe_firegate_for_amd64(self):
        c = self.control
        self.assertEqual((c["Package"], c["Version"], c["Architecture"], c["Section"]),
                         ("firegate", DEB_VERSION, "amd64", "admin"))
        self.assertEqual(c["Maintainer"], "firegate maintainers <firegate@example.invalid>")
        self.assertEqual(self.deb.name, f"firegate_{DEB_VERSION}_amd64.deb")
        for package in LIBRARY_PACKAGES:
            self.assertIn(package, depends_names(c["Depends"]))

    def binaries(self):
        """readelf of each packed binary, by its installed path."""
        with tempfile.TemporaryDirectory(dir=self.tmp) as tmp:
            fgtest.run("dpkg-deb", "-x", self.deb, tmp, check=0)
            return {path: readelf(Path(tmp) / path.lstrip("/"))
                    for path in (FIREGATE, FIREGATE_WEB)}

    def test_depends_names_the_package_of_every_library_the_binaries_need(self):
        for path, elf in self.binaries().items():
            self.assertEqual((elf["class"], elf["interpreter"]),
                             ("ELF64", "/lib64/ld-linux-x86-64.so.2"), path)
            for soname, (package, arch) in library_owners("amd64", elf["needed"]).items():
                self.assertIn(package, depends_names(self.control["Depends"]),
                              f"{path}: {soname}")

    def test_only_the_desks_server_links_libmicrohttpd(self):
        elves = self.binaries()
        for soname in elves[FIREGATE]["needed"]:
            self.assertFalse(soname.startswith(WEB_ONLY), f"{FIREGATE} needs {soname}")
        for path, sonames in LIBRARY_SONAMES.items():
            for soname in sonames:
                self.assertIn(soname, elves[path]["needed"], path)

    def test_every_file_is_where_debian_12_puts_it(self):
        paths = deb_paths(self.deb)
        for path in EXPECTED_FILES:
            self.assertIn(path, paths)
        for path in paths:
            self.assertTrue(path.startswith(ALLOWED_TOP), f"{path} is outside {ALLOWED_TOP}")
        root, done = self.install()
        self.assertIn("Setting up firegate", done.stdout, explain(done))
        for path in EXPECTED_FILES:
            self.assertTrue(root.path(path).is_file(), f"{path} not installed")
        for binary in (FIREGATE, FIREGATE_WEB):
            self.assertEqual(root.path(binary).stat().st_mode & 0o777, 0o755, binary)

    def test_the_manual_pages_are_the_sources_gzipped(self):
        with tempfile.TemporaryDirectory(dir=self.tmp) as tmp:
            fgtest.run("dpkg-deb", "-x", self.deb, tmp, check=0)
            for page, source in (("man8/firegate.8.gz", MAN8), ("man5/firegate.conf.5.gz", MAN5)):
                packed = Path(tmp) / "usr/share/man" / page
                self.assertEqual(gzip.decompress(packed.read_bytes()), source.read_bytes())

    def test_the_installed_binary_runs_and_finds_the_page_where_the_package_put_it(self):
        root, _ = self.install()
        binary = root.path("/usr/bin/firegate")
        done = fgtest.run(binary, "--version", check=0)
        self.assertEqual(done.stdout.strip(), f"firegate {VERSION}")
        gw = fgtest.Gateway()
        try:
            done = fgtest.run(binary, "--config", gw.config, "check-config", check=0)
        finally:
            gw.cleanup()
        self.assertRegex(done.stdout, r"(?m)^root = /usr/share/firegate/www$")

    def test_firegate_web_runs_the_desks_server_from_usr_libexec(self):
        root, _ = self.install()
        done = fgtest.run(root.path(FIREGATE_WEB), "--help", check=0)
        self.assertIn("Usage: firegate [--config PATH] web", done.stdout)
        # Outside the throw-away root, /usr/libexec/firegate is the host's: where it holds no
        # firegate-web, the installed binary names both places it looked.
        if Path(FIREGATE_WEB).exists():
            self.skipTest(f"this host has its own {FIREGATE_WEB}")
        done = fgtest.run(root.path(FIREGATE), "web", "--help")
        self.assertEqual(done.returncode, 1, explain(done))
        self.assertIn(f"neither at {root.path('/usr/bin/firegate-web')} nor at {FIREGATE_WEB}",
                      done.stderr)

    def test_the_config_and_the_rules_are_conffiles(self):
        root, _ = self.install()
        listed = [line.split()[0] for line in root.status("Conffiles").splitlines()
                  if line.strip()]
        self.assertEqual(sorted(listed), sorted(CONFFILES))

    def test_postinst_makes_the_users_and_the_directories(self):
        root, done = self.install()
        users = root.passwd()
        self.assertEqual(users["firegate"][2], "/var/lib/firegate", explain(done))
        self.assertIn("firegate-web", users)
        groups = root.groups()
        self.assertIn("firegate-web", groups["firegate"])
        self.assertIn("firegate", groups["gpio"])
        uid, gid, _ = users["firegate"]
        for directory in ("/var/lib/firegate", "/run/firegate"):
            st = root.path(directory).stat()
            self.assertEqual((st.st_mode & 0o7777, st.st_uid, st.st_gid), (0o750, uid, gid),
                             directory)

    def test_the_sysusers_file_declares_both_users(self):
        root, _ = self.install()
        text = root.path("/usr/lib/sysusers.d/firegate.conf").read_text()
        self.assertEqual(re.findall(r"(?m)^u (\S+)", text), ["firegate", "firegate-web"])

    def test_the_units_are_enabled_and_nothing_is_started_on_a_first_install(self):
        root, done = self.install()
        wants = root.path("/etc/systemd/system/multi-user.target.wants")
        for unit in ("firegate.service", "firegate-web.service"):
            self.assertEqual(os.readlink(wants / unit), f"/lib/systemd/system/{unit}")
        self.assertIn(FIRST_INSTALL_NOTE, done.stderr)

    def test_the_units_pass_systemd_analyze_verify(self):
        root, _ = self.install()
        units = ("firegate.service", "firegate-web.service")
        # verify resolves the default dependencies (sysinit.target...): the host's targets and
        # slices are copied beside the package's units, in the throw-away root.
        for pattern in ("*.target", "*.slice"):
            for unit in Path("/lib/systemd/system").glob(pattern):
                target = root.path(f"/lib/systemd/system/{unit.name}")
                if not target.exists():
                    shutil.copy(unit, target)
        # It also checks that every command exists: the ones other packages provide on a real
        # system (/bin/kill of procps) are copied from the host; the package's own are not.
        for unit in units:
            text = root.path(f"/lib/systemd/system/{unit}").read_text()
            for command in re.findall(r"(?m)^Exec\w+=[-@:+!]*(/\S+)", text):
                if not command.startswith("/usr/bin/firegate") and Path(command).is_file() \
                        and not root.path(command).exists():
                    root.path(command).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(command, root.path(command))
        done = fgtest.run("systemd-analyze", "verify", f"--root={root.dir}", "--man=no", *units)
        self.assertEqual((done.returncode, done.stdout + done.stderr), (0, ""), explain(done))
        users = root.passwd()
        for unit in units:
            text = root.path(f"/lib/systemd/system/{unit}").read_text()
            service = text.split("[Service]", 1)[1].split("\n[", 1)[0]
            keys = dict(re.findall(r"(?m)^(\w+)=(.*)$", service))
            self.assertTrue(keys["ExecStart"].startswith("/usr/bin/firegate "), unit)
            self.assertIn(keys["User"], users, f"{unit}: User= is not a sysusers user")
            for doc in re.findall(r"(?m)^Documentation=(.*)$", text)[0].split():
                if doc.startswith("man:"):
                    name, section = re.fullmatch(r"man:(.+)\((\d)\)", doc).groups()
                    path = f"/usr/share/man/man{section}/{name}.{section}.gz"
                else:
                    path = doc.removeprefix("file:")
                self.assertTrue(root.path(path).is_file(), f"{unit}: {doc} is not installed")

    def test_reinstalling_the_same_version_keeps_an_edited_config(self):
        root, _ = self.install()
        conf = root.path("/etc/firegate/firegate.conf")
        edited = conf.read_text().replace("id = ", "id = edited-by-the-installer-", 1)
        conf.write_text(edited)
        done = root.dpkg("-i", self.deb)
        self.assertEqual(conf.read_text(), edited, explain(done))
        self.assertEqual(sorted(p.name for p in conf.parent.iterdir()),
                         ["firegate.conf", "rules"])
        self.assertNotIn(FIRST_INSTALL_NOTE, done.stderr)

    def test_an_upgrade_keeps_an_edited_config_and_updates_an_unedited_rule_file(self):
        root, _ = self.install()
        conf = root.path("/etc/firegate/firegate.conf")
        edited = conf.read_text() + "# the installer's edit\n"
        conf.write_text(edited)
        # As an unattended upgrade runs it: keep an edited conffile, never ask.
        done = root.dpkg("--force-confdef", "--force-confold", "-i", self.next_deb)
        self.assertEqual(root.status("Version"), f"{VERSION}-2", explain(done))
        self.assertEqual(conf.read_text(), edited)
        self.assertIn("# changed in the next version",
                      root.path("/etc/firegate/firegate.conf.dpkg-dist").read_text())
        self.assertIn("# changed in the next version", root.path(CONFFILES[1]).read_text())

    def test_purge_keeps_the_store_and_forgets_the_units(self):
        root, _ = self.install()
        store = root.path("/var/lib/firegate/firegate.db")
        store.write_text("the incident log\n")
        done = root.dpkg("--purge", "firegate")
        self.assertFalse(root.path("/usr/bin/firegate").exists(), explain(done))
        self.assertFalse(root.path("/etc/firegate/firegate.conf").exists())
        self.assertFalse(root.path("/etc/systemd/system/multi-user.target.wants/"
                                   "firegate.service").is_symlink())
        self.assertEqual(store.read_text(), "the incident log\n")
        self.assertIn("/var/lib/firegate (the store and its incident log) is kept", done.stderr)


class Arm64Package(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.uname().machine != "x86_64":
            raise unittest.SkipTest("the arm64 package is cross-built on an amd64 host")
        cls.tmp = Path(tempfile.mkdtemp(prefix="firegate-package-arm64-"))
        cls.deb, cls.built, cls.seconds = build_package("arm64", cls.tmp / "out", "--unit-tests",
                                                        timeout=560)
        cls.control = control_fields(cls.deb)
        cls.unpacked = cls.tmp / "unpacked"
        fgtest.run("dpkg-deb", "-x", cls.deb, cls.unpacked, check=0)
        cls.elves = {path: readelf(cls.unpacked / path.lstrip("/"))
                     for path in (FIREGATE, FIREGATE_WEB)}
        summary = re.search(r"\d+% tests passed.*", cls.built.stderr)
        print(f"package: arm64 {cls.deb.name} {cls.deb.stat().st_size / 1024:.0f} KiB "
              f"(installed {cls.control.get('Installed-Size')} KiB); scripts/package "
              f"--unit-tests {cls.seconds:.1f} s ({figures(cls.built)}); unit tests under "
              f"qemu: {summary.group(0) if summary else '?'}", file=sys.stderr)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_the_unit_tests_pass_under_qemu(self):
        m = re.search(r"(\d+)% tests passed, (\d+) tests failed out of (\d+)", self.built.stderr)
        self.assertIsNotNone(m, explain(self.built))
        tree = BUILD / "package-arm64"
        listed = json.loads(fgtest.run("ctest", "--test-dir", tree, "-L", "unit",
                                       "--show-only=json-v1", check=0).stdout)["tests"]
        self.assertEqual(m.groups(), ("100", "0", str(len(listed))))
        self.assertGreater(len(listed), 15)
        for test in listed:
            self.assertTrue(Path(test["command"][0]).name.startswith("qemu-aarch64"),
                            test["command"])

    def test_the_packed_binaries_are_aarch64_elves_for_debians_loader(self):
        for path, elf in self.elves.items():
            self.assertEqual((elf["class"], elf["machine"], elf["interpreter"]),
                             ("ELF64", "AArch64", "/lib/ld-linux-aarch64.so.1"), path)
            for soname in LIBRARY_SONAMES[path]:
                self.assertIn(soname, elf["needed"], path)
        for soname in self.elves[FIREGATE]["needed"]:
            self.assertFalse(soname.startswith(WEB_ONLY), f"{FIREGATE} needs {soname}")

    def test_depends_names_the_arm64_library_packages(self):
        self.assertEqual(self.control["Architecture"], "arm64")
        self.assertEqual(self.deb.name, f"firegate_{DEB_VERSION}_arm64.deb")
        names = depends_names(self.control["Depends"])
        for package in LIBRARY_PACKAGES:
            self.assertIn(package, names)
        # Each library a binary needs is an arm64 package's, and that package is a Depends.
        for path, elf in self.elves.items():
            for soname, (package, arch) in library_owners("arm64", elf["needed"]).items():
                self.assertEqual(arch, "arm64", f"{path}: {soname}")
                self.assertIn(package, names, f"{path}: {soname}")

    def test_the_packed_binary_runs_under_qemu(self):
        qemu = shutil.which("qemu-aarch64-static")
        self.assertIsNotNone(qemu, "qemu-user-static is not installed")
        binary = self.unpacked / "usr/bin/firegate"
        done = fgtest.run(qemu, binary, "--version", check=0)
        self.assertEqual(done.stdout.strip(), f"firegate {VERSION}")
        gw = fgtest.Gateway()
        try:
            done = fgtest.run(qemu, binary, "--config", gw.config, "check-config", check=0)
        finally:
            gw.cleanup()
        self.assertRegex(done.stdout, r"(?m)^root = /usr/share/firegate/www$")
        done = fgtest.run(qemu, self.unpacked / FIREGATE_WEB.lstrip("/"), "--help", check=0)
        self.assertIn("Usage: firegate [--config PATH] web", done.stdout)

    def test_it_holds_the_same_files_as_the_amd64_package(self):
        paths = deb_paths(self.deb)
        for path in EXPECTED_FILES:
            self.assertIn(path, paths)
        for path in paths:
            self.assertTrue(path.startswith(ALLOWED_TOP), f"{path} is outside {ALLOWED_TOP}")


if __name__ == "__main__":
    unittest.main()
