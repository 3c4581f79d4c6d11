-- emulate+toolchain: the emulate view (the target root is the whole file
-- system, read-only unless root is simulated), but compiling uses the
-- target's cross toolchain from the host instead of a compiler inside the
-- target root run by qemu: gcc, cc, as, ld, ar... are the cross tools.
rule_file_interface_version = "105"

local rules = { { rules = import_from_fs_rule_library("toolchain"), dir = "/" } }
for _, r in ipairs(import_from_fs_rule_library("emulate")) do
	table.insert(rules, r)
end
fs_mapping_rules = rules
