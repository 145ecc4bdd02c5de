//! Classic BPF (what libpcap compiles a capture filter to) run over a frame: the engine's
//! taps filter what they copy or trace with it. A program is checked once when it is loaded (jumps
//! inside it, memory slots that exist, no division by a constant zero, a return at the end),
//! so running it never panics; a load past the frame's end rejects the frame, as the kernel
//! does.

/// One instruction, as `<pcap/bpf.h>` lays it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// Why a program was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BpfError {
    #[error("empty program")]
    Empty,
    #[error("instruction {0}: unknown opcode {1:#06x}")]
    Opcode(usize, u16),
    #[error("instruction {0}: jumps out of the program")]
    Jump(usize),
    #[error("instruction {0}: no memory slot {1}")]
    Slot(usize, u32),
    #[error("instruction {0}: divides by zero")]
    DivZero(usize),
    #[error("the program does not end with a return")]
    NoReturn,
}

const MEM: usize = 16;

mod op {
    pub const LD: u16 = 0x00;
    pub const LDX: u16 = 0x01;
    pub const ST: u16 = 0x02;
    pub const STX: u16 = 0x03;
    pub const ALU: u16 = 0x04;
    pub const JMP: u16 = 0x05;
    pub const RET: u16 = 0x06;
    pub const MISC: u16 = 0x07;
    // Sizes and modes of loads.
    pub const W: u16 = 0x00;
    pub const H: u16 = 0x08;
    pub const B: u16 = 0x10;
    pub const IMM: u16 = 0x00;
    pub const ABS: u16 = 0x20;
    pub const IND: u16 = 0x40;
    pub const MEM: u16 = 0x60;
    pub const LEN: u16 = 0x80;
    pub const MSH: u16 = 0xa0;
    /// Operand source: the constant, or X.
    pub const X: u16 = 0x08;
    // Return sources.
    pub const RET_A: u16 = 0x10;
}

/// A checked program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program(Vec<Insn>);

impl Program {
    /// Capture filter `expr` (pcap-filter(7)) compiled by libpcap; its message when it does
    /// not compile.
    pub fn compile(expr: &str) -> Result<Program, String> {
        let insns = crate::sys::pcap_filter::compile(expr, u32::from(u16::MAX))?
            .into_iter()
            .map(|(code, jt, jf, k)| Insn { code, jt, jf, k })
            .collect();
        Program::new(insns).map_err(|e| e.to_string())
    }

    pub fn new(insns: Vec<Insn>) -> Result<Program, BpfError> {
        if insns.is_empty() {
            return Err(BpfError::Empty);
        }
        let n = insns.len();
        for (pc, i) in insns.iter().enumerate() {
            let class = i.code & 0x07;
            let bad = || BpfError::Opcode(pc, i.code);
            match class {
                op::LD | op::LDX => {
                    let mode = i.code & 0xe0;
                    let size = i.code & 0x18;
                    let ok = match (class, mode) {
                        (op::LD, op::ABS | op::IND) => size != 0x18,
                        (op::LD, op::IMM | op::LEN | op::MEM) => size == op::W,
                        (op::LDX, op::IMM | op::LEN | op::MEM) => size == op::W,
                        (op::LDX, op::MSH) => size == op::B,
                        _ => false,
                    };
                    if !ok {
                        return Err(bad());
                    }
                    if mode == op::MEM && i.k as usize >= MEM {
                        return Err(BpfError::Slot(pc, i.k));
                    }
                }
                op::ST | op::STX if i.k as usize >= MEM => return Err(BpfError::Slot(pc, i.k)),
                op::ST | op::STX => {}
                op::ALU => {
                    let alu = i.code & 0xf0;
                    if alu > 0xa0 {
                        return Err(bad());
                    }
                    if (alu == 0x30 || alu == 0x90) && i.code & op::X == 0 && i.k == 0 {
                        return Err(BpfError::DivZero(pc));
                    }
                }
                op::JMP => {
                    let (jt, jf) = match i.code & 0xf0 {
                        0x00 => (i.k as usize, i.k as usize),
                        0x10..=0x40 => (usize::from(i.jt), usize::from(i.jf)),
                        _ => return Err(bad()),
                    };
                    if pc + 1 + jt.max(jf) >= n {
                        return Err(BpfError::Jump(pc));
                    }
                }
                op::RET => {}
                op::MISC if i.code & 0xf8 == 0x00 || i.code & 0xf8 == 0x80 => {}
                _ => return Err(bad()),
            }
        }
        match insns[n - 1].code & 0x07 {
            op::RET => Ok(Program(insns)),
            _ => Err(BpfError::NoReturn),
        }
    }

    /// The filter keeps `frame` (the bytes at hand; `wire_len` the whole packet's length).
    pub fn matches(&self, frame: &[u8], wire_len: usize) -> bool {
        self.run(frame, wire_len) != 0
    }

    fn run(&self, p: &[u8], wire_len: usize) -> u32 {
        let load = |at: u32, size: u16| -> Option<u32> {
            let at = at as usize;
            match size {
                op::W => p
                    .get(at..at.checked_add(4)?)
                    .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
                op::H => p
                    .get(at..at.checked_add(2)?)
                    .map(|b| u32::from(u16::from_be_bytes([b[0], b[1]]))),
                _ => p.get(at).map(|b| u32::from(*b)),
            }
        };
        let (mut a, mut x, mut mem) = (0u32, 0u32, [0u32; MEM]);
        let mut pc = 0;
        // Jumps only go forward: the program ends within its length.
        while let Some(i) = self.0.get(pc) {
            pc += 1;
            let k = i.k;
            match i.code & 0x07 {
                op::LD => {
                    a = match i.code & 0xe0 {
                        op::IMM => k,
                        op::LEN => wire_len as u32,
                        op::MEM => mem[k as usize % MEM],
                        op::ABS => match load(k, i.code & 0x18) {
                            Some(v) => v,
                            None => return 0,
                        },
                        _ => match load(x.wrapping_add(k), i.code & 0x18) {
                            Some(v) => v,
                            None => return 0,
                        },
                    }
                }
                op::LDX => {
                    x = match i.code & 0xe0 {
                        op::IMM => k,
                        op::LEN => wire_len as u32,
                        op::MEM => mem[k as usize % MEM],
                        _ => match load(k, op::B) {
                            Some(v) => (v & 0x0f) << 2,
                            None => return 0,
                        },
                    }
                }
                op::ST => mem[k as usize % MEM] = a,
                op::STX => mem[k as usize % MEM] = x,
                op::ALU => {
                    let v = if i.code & op::X != 0 { x } else { k };
                    a = match i.code & 0xf0 {
                        0x00 => a.wrapping_add(v),
                        0x10 => a.wrapping_sub(v),
                        0x20 => a.wrapping_mul(v),
                        0x30 if v == 0 => return 0,
                        0x30 => a / v,
                        0x40 => a | v,
                        0x50 => a & v,
                        0x60 => a.checked_shl(v).unwrap_or(0),
                        0x70 => a.checked_shr(v).unwrap_or(0),
                        0x80 => a.wrapping_neg(),
                        0x90 if v == 0 => return 0,
                        0x90 => a % v,
                        _ => a ^ v,
                    }
                }
                op::JMP => {
                    let v = if i.code & op::X != 0 { x } else { k };
                    let taken = match i.code & 0xf0 {
                        0x00 => {
                            pc += k as usize;
                            continue;
                        }
                        0x10 => a == v,
                        0x20 => a > v,
                        0x30 => a >= v,
                        _ => a & v != 0,
                    };
                    pc += usize::from(if taken { i.jt } else { i.jf });
                }
                op::RET => {
                    return match i.code & 0x18 {
                        op::RET_A => a,
                        op::X => x,
                        _ => k,
                    }
                }
                _ => match i.code & 0xf8 {
                    0x00 => x = a,
                    _ => a = x,
                },
            }
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;
    use proptest::prelude::*;

    fn filter(expr: &str) -> Program {
        Program::compile(expr).unwrap()
    }

    fn tcp(dport: u16, vlan: Option<u16>) -> Vec<u8> {
        let mut f = Vec::new();
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        match vlan {
            Some(v) => b
                .single_vlan(v.try_into().unwrap())
                .ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
                .tcp(1000, dport, 1, 1000)
                .write(&mut f, &[])
                .unwrap(),
            None => b
                .ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
                .tcp(1000, dport, 1, 1000)
                .write(&mut f, &[])
                .unwrap(),
        }
        f
    }

    fn ping6() -> Vec<u8> {
        let mut f = Vec::new();
        PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv6(
                [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
                64,
            )
            .icmpv6_echo_request(1, 1)
            .write(&mut f, &[])
            .unwrap();
        f
    }

    #[test]
    fn libpcaps_programs_match_what_they_say() {
        let (web, ssh, tagged, v6) = (tcp(80, None), tcp(22, None), tcp(80, Some(100)), ping6());
        let m = |expr: &str, f: &[u8]| filter(expr).matches(f, f.len());
        assert!(m("tcp port 80", &web) && !m("tcp port 80", &ssh));
        assert!(m("host 192.0.2.2 and tcp[tcpflags] & tcp-syn == 0", &web));
        assert!(m("vlan 100 and tcp port 80", &tagged) && !m("vlan 100", &web));
        assert!(m("icmp6", &v6) && !m("icmp6", &web) && !m("icmp", &v6));
        assert!(
            m("ip6 and ip6[40] == 128", &v6),
            "an echo request by its type"
        );
        assert!(m("greater 50", &web) && !m("less 20", &web));
        assert!(m("", &web), "an empty filter keeps everything");
    }

    #[test]
    fn bad_filters_and_programs_are_refused() {
        assert!(Program::compile("tcp port eighty")
            .unwrap_err()
            .contains("eighty"));
        let ret = Insn {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 1,
        };
        let jump_out = Insn {
            code: 0x15,
            jt: 5,
            jf: 0,
            k: 0,
        };
        let div0 = Insn {
            code: 0x34,
            jt: 0,
            jf: 0,
            k: 0,
        };
        let slot = Insn {
            code: 0x02,
            jt: 0,
            jf: 0,
            k: 16,
        };
        assert_eq!(Program::new(vec![]), Err(BpfError::Empty));
        assert_eq!(Program::new(vec![jump_out, ret]), Err(BpfError::Jump(0)));
        assert_eq!(Program::new(vec![div0, ret]), Err(BpfError::DivZero(0)));
        assert_eq!(Program::new(vec![slot, ret]), Err(BpfError::Slot(0, 16)));
        assert_eq!(Program::new(vec![div0]), Err(BpfError::DivZero(0)));
        assert_eq!(
            Program::new(vec![Insn {
                code: 0x00,
                jt: 0,
                jf: 0,
                k: 0
            }]),
            Err(BpfError::NoReturn)
        );
    }

    proptest! {
        /// Any checked program over any bytes ends, and never panics.
        #[test]
        fn any_checked_program_runs_to_an_end(
            insns in proptest::collection::vec((any::<u16>(), any::<u8>(), any::<u8>(), any::<u32>()), 1..40),
            frame in proptest::collection::vec(any::<u8>(), 0..128),
        ) {
            let mut insns: Vec<Insn> = insns.into_iter().map(|(code, jt, jf, k)| Insn { code, jt, jf, k }).collect();
            insns.push(Insn { code: 0x06, jt: 0, jf: 0, k: 0 });
            if let Ok(p) = Program::new(insns) {
                let _ = p.matches(&frame, frame.len());
            }
        }
    }
}
