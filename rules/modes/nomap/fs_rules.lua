-- nomap: no path mapping at all, but everything else sb2 does (exec
-- handling, virtual permissions, network rules, logging) stays active.
-- Useful for native builds, for auditing a build's network use, and as the
-- baseline of benchmarks.
rule_file_interface_version = "105"

fs_mapping_rules = {
	{ dir = "/", force_orig_path_unless_chroot = true },
}
