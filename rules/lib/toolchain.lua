-- The session's toolchain (the target's COMPILER, sb2-init): /usr/bin/gcc,
-- cc, c++, as, ld, ar, strip... are the cross tools, and host-gcc and
-- friends the host's. The launcher keeps a link per name in toolchain_dir
-- (CONFIG/toolchain/TARGET; so shells find them where a build looks) and the exec
-- rewrites (argvmods) run the cross tool with the target's flags. The cross
-- toolchain's own programs and files stay the host's in every mode.
fs_rule_lib_interface_version = "105"
local r = {}
if toolchain_dir then
	table.insert(r, { dir = toolchain_dir, use_orig_path = true })
end
for name in string.gmatch(toolchain_names or "", "%S+") do
	table.insert(r, { path = "/usr/bin/" .. name, replace_by = toolchain_dir .. "/" .. name })
	table.insert(r, { path = "/bin/" .. name, replace_by = toolchain_dir .. "/" .. name })
end
if toolchain_prefix then
	-- e.g. /usr/bin/aarch64-linux-gnu-: the cross tools themselves.
	table.insert(r, { prefix = toolchain_prefix, use_orig_path = true })
end
-- Compiler launchers and their masquerade directories are the host's
-- where the host has them: they run the cross compiler by the name the
-- exec rewrite gives them (see docs/scale-out.md).
for _, name in ipairs({ "ccache", "distcc", "icecc", "icerun", "icecc-create-env" }) do
	if sblib.path_exists("/usr/bin/" .. name) then
		table.insert(r, { path = "/usr/bin/" .. name, use_orig_path = true })
		table.insert(r, { path = "/bin/" .. name, replace_by = "/usr/bin/" .. name })
	end
end
for _, d in ipairs({ "/usr/lib/ccache", "/usr/lib/distcc", "/usr/lib/icecc" }) do
	if sblib.path_exists(d) then
		table.insert(r, { dir = d, use_orig_path = true })
	end
end
for _, d in ipairs({ "/usr/lib/gcc-cross", "/usr/libexec/gcc-cross", "/usr/lib/bfd-plugins" }) do
	table.insert(r, { dir = d, use_orig_path = true })
end
if toolchain_triplet then
	table.insert(r, { dir = "/usr/" .. toolchain_triplet, use_orig_path = true })
end
return r
