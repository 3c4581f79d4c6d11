-- Host programs run on a target root ("accelerated"), for the install
-- mode: the host's (or the tools root's) dpkg, apt and the programs
-- maintainer scripts run (sh, perl, coreutils, sed...) do their work
-- natively and intercepted, on the target's files, instead of the
-- target's programs under qemu, which sb2 cannot intercept (a program
-- under qemu makes raw system calls: it would write the host's /var/lib/dpkg).
--
-- Only where that is safe, as Scratchbox2's install modes accelerate rpm
-- only when tools and target carry the same rpm: the host and the target
-- must have the same release series (major.minor) of dpkg, apt and
-- perl-base, read from both package databases; a root of another
-- architecture must carry what sb2-mkroot adds for the host's dpkg and
-- apt; and not with `-O no-accel`.
-- Returns { on = bool, why = text, rules = { fs rules } }.
fs_rule_lib_interface_version = "105"

local function read(p)
	local f = io.open(p, "rb")
	if not f then
		return nil
	end
	local s = f:read("a")
	f:close()
	return s
end

local function exists(p)
	local f = io.open(p, "rb")
	if f then
		f:close()
		return true
	end
	return false
end

-- A field of `pkg`'s stanza in a dpkg status file when it is installed,
-- or nil.
local function field(status, pkg, name)
	if not status then
		return nil
	end
	local s = "\n" .. status
	local i = s:find("\nPackage: " .. pkg .. "\n", 1, true)
	if not i then
		return nil
	end
	local j = s:find("\n\n", i + 1, true) or #s
	local stanza = s:sub(i, j)
	if not stanza:find("\nStatus: install ok installed", 1, true) then
		return nil
	end
	return stanza:match("\n" .. name .. ": ([^\n]+)")
end

local function version(status, pkg)
	return field(status, pkg, "Version")
end

-- 1:2.36-9+deb12u1 -> 2.36
local function series(v)
	return v and v:gsub("^%d+:", ""):match("^(%d+%.%d+)")
end

if has_mode_option("no-accel") then
	return { on = false, why = "-O no-accel", rules = {} }
end
local host_status = read(tools .. "/var/lib/dpkg/status")
local target_status = read(target_root .. "/var/lib/dpkg/status")
local why = nil
for _, pkg in ipairs({ "dpkg", "apt", "perl-base" }) do
	local h, t = version(host_status, pkg), version(target_status, pkg)
	if not h or not t or series(h) ~= series(t) then
		why = string.format("%s: host %s, target %s", pkg, h or "none", t or "none")
		break
	end
end
-- A root of another architecture: the host's dpkg (native: the host's)
-- must know the root's as a foreign one, and the host's apt must resolve
-- for it; sb2-mkroot leaves both (var/lib/dpkg/arch and
-- etc/apt/apt.conf.d/00sb2-architecture). Without them the host's apt
-- would install the host's architecture into the root.
local harch, tarch = field(host_status, "dpkg", "Architecture"), field(target_status, "dpkg", "Architecture")
if not why and harch ~= tarch then
	local archs = read(target_root .. "/var/lib/dpkg/arch") or ""
	if not exists(target_root .. "/etc/apt/apt.conf.d/00sb2-architecture")
		or not ("\n" .. archs .. "\n"):find("\n" .. tarch .. "\n", 1, true) then
		why = string.format(
			"the %s root lacks what sb2-mkroot adds for the host's %s dpkg and apt (%s in var/lib/dpkg/arch, etc/apt/apt.conf.d/00sb2-architecture)",
			tostring(tarch), tostring(harch), tostring(tarch))
	end
end
if why then
	return { on = false, why = why, rules = {} }
end

local rules = {}
-- ldconfig is static (not intercepted): it would rewrite the host's
-- /etc/ld.so.cache. The target's programs find their libraries in the
-- default directories without a cache.
for _, p in ipairs({ "/sbin/ldconfig", "/usr/sbin/ldconfig" }) do
	table.insert(rules, { path = p, func_class = FUNC_CLASS_EXEC, replace_by = "/bin/true" })
end
-- Programs: the host's where it has them, for exec only (dpkg must still
-- unpack /usr/bin/x into the target).
for _, d in ipairs({ "/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/libexec", "/usr/lib/apt", "/usr/lib/dpkg" }) do
	table.insert(rules, {
		dir = d,
		func_class = FUNC_CLASS_EXEC,
		actions = {
			{ if_exists_then_map_to = tools },
			{ map_to = target_root },
		},
	})
end
-- Files the host programs need that a target of another architecture
-- lacks: the host's multiarch library directory (perl's XS modules,
-- gconv) when the target has none, read-only.
for _, t in ipairs({
	"x86_64-linux-gnu", "aarch64-linux-gnu", "i386-linux-gnu", "arm-linux-gnueabihf",
	"powerpc64le-linux-gnu", "riscv64-linux-gnu", "s390x-linux-gnu",
}) do
	if exists(tools .. "/usr/lib/" .. t .. "/libc.so.6") and not exists(target_root .. "/usr/lib/" .. t) then
		table.insert(rules, { dir = "/usr/lib/" .. t, map_to = tools, readonly = true })
		table.insert(rules, { dir = "/lib/" .. t, map_to = tools, readonly = true })
	end
end
-- Perl's modules and the locales: the target's, else the host's (read
-- only); dpkg itself sees only the target's, so it installs there.
for _, d in ipairs({ "/usr/share/perl", "/usr/share/perl5", "/usr/lib/locale" }) do
	table.insert(rules, { dir = d, binary_name = "dpkg", map_to = target_root })
	table.insert(rules, {
		dir = d,
		actions = {
			{ if_exists_then_map_to = target_root },
			{ if_exists_then_map_to = tools, readonly = true },
			{ map_to = target_root },
		},
	})
end
return { on = true, why = "dpkg, apt and perl-base of the same series on host and target", rules = rules }
