-- install: manage the target's packages as an ordinary user, as
-- Scratchbox2's sdk-install and obs-rpm-install modes do:
--
--     sb2 -t arm64 -m install -R -- apt-get install -y libpng-dev
--
-- The target root is "/" (as in emulate), writable as the kernel's
-- permissions say (the user's own root; use -R: apt and dpkg want root); /proc, /dev, /sys, $HOME and the start directory are the host's,
-- /tmp is private, /etc/resolv.conf is the host's (apt downloads). When
-- the host and the target carry the same dpkg, apt and perl-base, dpkg,
-- apt and what maintainer scripts run are the host's programs, run
-- natively on the target's files (rules/lib/accelerate.lua); otherwise
-- the target's own, which for another architecture means qemu.
rule_file_interface_version = "105"

local accel = import_from_fs_rule_library("accelerate")
if not accel.on and not has_mode_option("no-accel") then
	-- Once per session (rules compile when it starts): why the target's own
	-- programs run, which for another architecture means qemu.
	io.stderr:write("sb2: install mode: the target's own apt and dpkg run, not the host's: " .. accel.why .. "\n")
end
local extra = {
	{ path = "/etc/resolv.conf", force_orig_path = true },
}
for _, r in ipairs(accel.rules) do
	table.insert(extra, r)
end
fs_mapping_rules = import_from_fs_rule_library("root_view")(target_root, extra, true)
