-- emulate: the target root is the whole file system, as on the target
-- device. It is read-only unless root is simulated (sb2 -R), so a build
-- cannot damage the root file system by accident. The directory sb2 was
-- started in and $HOME stay the host's (that is where the sources are);
-- /tmp and /var/tmp are private to the session.
rule_file_interface_version = "105"

fs_mapping_rules = import_from_fs_rule_library("emulate")
