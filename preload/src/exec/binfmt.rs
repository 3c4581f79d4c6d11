//! The CPU transparency command (qemu) is itself started preloaded: in it
//! the library only makes sure the process is in a user namespace with its
//! own binfmt_misc instance that sends target ELF to qemu (so target
//! programs can exec target programs); the process layer has detached it
//! from the session already.

use crate::ffi::sys;
use crate::process::{state, vperm};
use sb2_ruletree::contract::key;
use sb2_ruletree::mapping::PathBuf;

/// Called from the library's constructor: if this process is the
/// session's CPU transparency command, enter the namespace (before qemu
/// starts any thread) unless its parent already is in one.
#[link_section = ".text.hot.sb2.start"]
pub fn enter_if_cpu_transparency() {
    if let Some(tree) = state::cpu_transparency_tree() {
        enter_binfmt(&tree);
    }
}

/// "A B 1" id map line into `buf`.
fn id_map(buf: &mut PathBuf, a: u32, b: u32) -> &[u8] {
    buf.clear();
    let _ = buf.push(sys::dec(a.into(), &mut [0; 20]));
    let _ = buf.push(b" ");
    let _ = buf.push(sys::dec(b.into(), &mut [0; 20]));
    let _ = buf.push(b" 1");
    buf.as_bytes()
}

/// Two nested user namespaces: in the outer one we are root and mount and
/// register binfmt_misc (an instance per user namespace, Linux 6.7+); the
/// inner one maps us back to our own ids, so `id` is unchanged (or to the
/// virtual ids of `sb2 -R`/`-U`). Files of
/// other owners show as nobody in there (documented). Any failure leaves
/// the process as it is, and says so once: target programs then cannot
/// exec target programs.
fn enter_binfmt(tree: &sb2_ruletree::format::Tree) {
    let (Some(name), Some(reg)) = (
        tree.constant(key::BINFMT_NAME.as_bytes()),
        tree.constant(key::BINFMT_REGISTER.as_bytes()),
    ) else {
        return;
    };
    let mut p = PathBuf::new();
    if p.set(b"/proc/sys/fs/binfmt_misc/")
        .and_then(|_| p.push(name))
        .is_err()
    {
        return;
    }
    if sys::exists(p.as_ptr()) {
        return;
    }
    // binfmt_misc instances per user namespace came with Linux 6.7: on
    // older kernels do not enter namespaces for nothing.
    if !sys::uname().is_some_and(|u| kernel_at_least(&u, 6, 7)) {
        refused(
            tree,
            b"this kernel has no binfmt_misc per user namespace (Linux 6.7 and later have)",
        );
        return;
    }
    let (uid, gid) = sys::real_ids();
    if !sys::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS) {
        refused(
            tree,
            b"user namespaces are refused here (sysctl user.max_user_namespaces is 0, or AppArmor's kernel.apparmor_restrict_unprivileged_userns=1)",
        );
        return;
    }
    let mut line = PathBuf::new();
    let ok = sys::write_file(c"/proc/self/setgroups".as_ptr(), b"deny")
        && sys::write_file(c"/proc/self/uid_map".as_ptr(), id_map(&mut line, 0, uid))
        && sys::write_file(c"/proc/self/gid_map".as_ptr(), id_map(&mut line, 0, gid))
        && sys::mount(
            c"binfmt_misc".as_ptr(),
            c"/proc/sys/fs/binfmt_misc".as_ptr(),
            c"binfmt_misc".as_ptr(),
        );
    if !(ok && sys::write_file(c"/proc/sys/fs/binfmt_misc/register".as_ptr(), reg)) {
        refused(
            tree,
            b"binfmt_misc cannot be mounted and registered in a user namespace here",
        );
    }
    if sys::unshare(libc::CLONE_NEWUSER) {
        sys::write_file(c"/proc/self/setgroups".as_ptr(), b"deny");
        // With virtual permissions the target program sees its virtual
        // ids (qemu makes real system calls: no hook can).
        let (iu, ig) = vperm::namespace_ids().unwrap_or((uid, gid));
        sys::write_file(c"/proc/self/uid_map".as_ptr(), id_map(&mut line, iu, 0));
        sys::write_file(c"/proc/self/gid_map".as_ptr(), id_map(&mut line, ig, 0));
        // The new namespace gave us every capability in it: drop them,
        // qemu and its guest run as the user they were.
        sys::drop_capabilities();
    }
}

/// Says once per session (the first qemu to find out creates a marker in
/// the session directory) why target programs cannot exec target
/// programs, and what fixes it: a silent ENOEXEC later in the build would
/// explain nothing.
fn refused(tree: &sb2_ruletree::format::Tree, cause: &[u8]) {
    let mut marker = PathBuf::new();
    let Some(dir) = tree.constant(key::SESSION_DIR.as_bytes()) else {
        return;
    };
    if marker
        .set(dir)
        .and_then(|_| marker.push(b"/binfmt-refused"))
        .is_err()
    {
        return;
    }
    let first = sys::open(
        marker.as_ptr(),
        libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC,
        0o644,
    );
    if first.is_err() {
        return;
    }
    crate::process::log::say(&[
        b"sb2: target programs cannot start other target programs in this session: ",
        cause,
        b". They fail with \"Exec format error\". Fix: allow unprivileged user namespaces \
          (sysctl user.max_user_namespaces=10000; on Ubuntu sysctl \
          kernel.apparmor_restrict_unprivileged_userns=0), or register qemu for the target's \
          architecture in the host's binfmt_misc (package qemu-user-binfmt).\n",
    ]);
}

/// Is the running kernel (from `uname`) at least `maj.min`?
fn kernel_at_least(u: &libc::utsname, maj: u32, min: u32) -> bool {
    let mut nums = [0u32; 2];
    let mut i = 0;
    for c in u.release.iter().map(|c| *c as u8) {
        match c {
            b'0'..=b'9' => nums[i] = nums[i].saturating_mul(10).saturating_add((c - b'0') as u32),
            b'.' if i == 0 => i = 1,
            _ => break,
        }
    }
    (nums[0], nums[1]) >= (maj, min)
}
