//! What the first bytes of a program say: an ELF header (machine, and
//! whether it asks for an interpreter) or a `#!` line, parsed as the
//! kernel does. Reads only the given slice: no allocation, no panic.

/// ELF facts from a file head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elf {
    pub class64: bool,
    pub little: bool,
    pub machine: u16,
    pub dynamic: bool,
    /// Where PT_INTERP's string is in the file (offset, size with its
    /// NUL), when its program header was within the head.
    pub interp: Option<(usize, usize)>,
}

impl Elf {
    /// The interpreter path, if it lies within `head`.
    pub fn interp_in<'h>(&self, head: &'h [u8]) -> Option<&'h [u8]> {
        let (off, size) = self.interp?;
        let s = head.get(off..off.checked_add(size)?)?;
        let s = s.split(|c| *c == 0).next()?;
        (s.first() == Some(&b'/')).then_some(s)
    }
}

/// Parses an ELF header and looks for PT_INTERP in the program headers
/// that are within `head`. A header table beyond the head counts as
/// dynamic (the common case; static programs have their headers first).
#[link_section = ".text.hot.sb2"]
pub fn parse_elf(head: &[u8]) -> Option<Elf> {
    if head.len() < 52 || head.get(..4)? != b"\x7fELF" {
        return None;
    }
    let class64 = *head.get(4)? == 2;
    let little = *head.get(5)? == 1;
    let machine = field::<2>(head, little, 18)? as u16;
    let (phoff, phentsize, phnum) = if class64 {
        let off = field::<8>(head, little, 32)?;
        (
            off as usize,
            field::<2>(head, little, 54)? as usize,
            field::<2>(head, little, 56)? as usize,
        )
    } else {
        (
            field::<4>(head, little, 28)? as usize,
            field::<2>(head, little, 42)? as usize,
            field::<2>(head, little, 44)? as usize,
        )
    };
    let mut dynamic = false;
    let mut interp = None;
    for i in 0..phnum.min(64) {
        let at = phoff.saturating_add(i.saturating_mul(phentsize));
        match field::<4>(head, little, at) {
            Some(3) => {
                dynamic = true;
                // p_offset and p_filesz.
                interp = if class64 {
                    field::<8>(head, little, at + 8).zip(field::<8>(head, little, at + 32))
                } else {
                    field::<4>(head, little, at + 4).zip(field::<4>(head, little, at + 16))
                }
                .map(|(o, n)| (o as usize, n as usize));
                break;
            }
            Some(_) => {}
            None => {
                dynamic = true;
                break;
            }
        }
    }
    Some(Elf {
        class64,
        little,
        machine,
        dynamic,
        interp,
    })
}

/// The N-byte (2, 4 or 8) integer at `o` in the given byte order. A
/// function always inlined, not a closure: an out-of-line closure is one
/// more page of code for a forked child to fault in.
#[inline(always)]
fn field<const N: usize>(head: &[u8], little: bool, o: usize) -> Option<u64> {
    let b = head.get(o..o.checked_add(N)?)?;
    let mut v = 0u64;
    for i in 0..N {
        let byte = if little { b[N - 1 - i] } else { b[i] };
        v = v << 8 | byte as u64;
    }
    Some(v)
}

/// The host's own machine (the one its ld.so loads).
pub fn native_machine(m: u16) -> bool {
    if cfg!(target_arch = "x86_64") {
        m == 62
    } else if cfg!(target_arch = "aarch64") {
        m == 183
    } else {
        false
    }
}

/// ELF machines this host runs natively.
pub fn host_machine(m: u16) -> bool {
    if cfg!(target_arch = "x86_64") {
        m == 62 || m == 3
    } else if cfg!(target_arch = "aarch64") {
        m == 183
    } else {
        false
    }
}

/// A `#!` line: interpreter and its optional single argument (Linux
/// semantics: the rest of the line, trimmed, is one argument).
pub fn parse_shebang(head: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let rest = head.strip_prefix(b"#!")?;
    let line = rest.split(|c| *c == b'\n').next()?;
    let trim = |s: &[u8]| -> usize { s.iter().take_while(|c| **c == b' ' || **c == b'\t').count() };
    let line = line.get(trim(line)..)?;
    let end = line
        .iter()
        .rposition(|c| !matches!(c, b' ' | b'\t' | b'\r'))
        .map_or(0, |i| i + 1);
    let line = line.get(..end)?;
    if line.is_empty() {
        return None;
    }
    let split = line
        .iter()
        .position(|c| *c == b' ' || *c == b'\t')
        .unwrap_or(line.len());
    let interp = line.get(..split)?;
    let arg = line.get(split..).map(|a| a.get(trim(a)..).unwrap_or(&[]));
    Some((interp, arg.filter(|a| !a.is_empty())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebang_lines_parse_like_the_kernel() {
        assert_eq!(
            parse_shebang(b"#!/bin/sh\necho"),
            Some((&b"/bin/sh"[..], None))
        );
        assert_eq!(
            parse_shebang(b"#! /usr/bin/env  python3 \r\nx"),
            Some((&b"/usr/bin/env"[..], Some(&b"python3"[..])))
        );
        // Everything after the interpreter is one argument.
        assert_eq!(
            parse_shebang(b"#!/bin/sh -e -x\n"),
            Some((&b"/bin/sh"[..], Some(&b"-e -x"[..])))
        );
        assert_eq!(parse_shebang(b"#!\n"), None);
        assert_eq!(parse_shebang(b"echo hi\n"), None);
    }

    #[test]
    fn elf_headers_tell_machine_and_linking() {
        let me = std::fs::read("/proc/self/exe").unwrap();
        let e = parse_elf(&me[..1024]).unwrap();
        assert!(host_machine(e.machine) && e.class64 && e.little);
        assert!(e.dynamic);
        // A minimal static aarch64 header: no PT_INTERP among its headers.
        let mut h = vec![0u8; 1024];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = 2;
        h[5] = 1;
        h[18..20].copy_from_slice(&183u16.to_le_bytes());
        h[32..40].copy_from_slice(&64u64.to_le_bytes());
        h[54..56].copy_from_slice(&56u16.to_le_bytes());
        h[56..58].copy_from_slice(&1u16.to_le_bytes());
        h[64..68].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        let e = parse_elf(&h).unwrap();
        assert_eq!(e.machine, 183);
        assert!(!e.dynamic && !host_machine(e.machine) || cfg!(target_arch = "aarch64"));
        h[64..68].copy_from_slice(&3u32.to_le_bytes()); // PT_INTERP
        assert!(parse_elf(&h).unwrap().dynamic);
        assert_eq!(parse_elf(b"#!/bin/sh\n"), None);
    }
}
