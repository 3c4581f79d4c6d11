//! The session log survives a program that closes every file descriptor
//! and reuses the numbers (daemons, test harnesses, `closefrom`): sb2's
//! log lines must never land in the program's own files, and must still
//! reach the session log afterwards.

use sb2_tests::*;

#[test]
fn logfd_program_closing_every_fd_keeps_its_files_and_the_log() {
    require("python3");
    let w = World::new("logfd");
    w.write("logfd-marker", "marker\n");
    let logs = w.dir.join("logs");
    // Every open after closerange is logged (`-d`: a `map` line each). The
    // program's own files get the lowest free numbers, the ones a log
    // without care would hold, and then also the high numbers sb2 moves
    // its log to (dup2 closes whatever sb2 had open there): each of them
    // must be seen to be another file.
    let script = r#"
import os
os.closerange(3, 65536)
fds = [os.open("own%d" % i, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644) for i in range(8)]
for i, fd in enumerate(fds):
    os.dup2(fd, 900 + i)
for i in range(4):
    os.close(os.open("logfd-marker", os.O_RDONLY))
for i, fd in enumerate(fds):
    os.write(fd, b"mine %d\n" % i)
    os.close(fd)
    os.close(900 + i)
"#;
    let o = w
        .cmd(bin_dir().join("sb2"))
        .env("SB2_LOG_DIR", &logs)
        .args(["-d", "python3", "-c", script])
        .output()
        .expect("run sb2");
    assert!(o.status.success(), "{}", text(&o));
    for i in 0..8 {
        let got = std::fs::read_to_string(w.work.join(format!("own{i}"))).expect("own file");
        assert_eq!(
            got,
            format!("mine {i}\n"),
            "own{i} got lines it did not write"
        );
    }
    let f = std::fs::read_dir(&logs)
        .expect("log directory")
        .next()
        .expect("a log file")
        .expect("dir entry")
        .path();
    let log = std::fs::read_to_string(f).expect("read log");
    let after = log
        .lines()
        .filter(|l| {
            l.contains("\"ev\":\"map\"")
                && l.contains("\"prog\":\"python3\"")
                && l.contains("/logfd-marker\"")
        })
        .count();
    assert!(
        after >= 4,
        "the log lost the lines written after the program closed its fds ({after}):\n{log}"
    );
}
