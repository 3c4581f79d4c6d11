-- sb2 rule file prelude: where each table was written, and the helpers Scratchbox2's rule files expect.
local origins = setmetatable({}, { __mode = "k" })
__sb2_origins = origins
function __sb2_t(line, t)
  origins[t] = { __sb2_current_file, line }
  return t
end
sb2_procfs_mapper = setmetatable({}, { __name = "sb2_procfs_mapper" })
readonly_fs_if_not_root = 1
readonly_fs_always = 2
function basename(p) return (string.gsub(p, "^.*/", "")) end
sblib = {}
function sblib.isprefix(a, b) return string.sub(b, 1, #a) == a end
function has_mode_option(o)
  for w in string.gmatch(sbox_mode_specific_options or "", "[^,%s]+") do
    if w == o then return true end
  end
  return false
end
