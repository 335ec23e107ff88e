//! What /proc tells about a process (the relay's RSS and CPU time, anyone's open-file limit),
//! about processes by name (a local PostgreSQL server's CPU time) and about the machine (the
//! ephemeral port range).

use anyhow::{anyhow, Context, Result};
use serde::{Deserialize, Serialize};

/// One reading of a process.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Sample {
    /// Resident set size, bytes (`VmRSS`).
    pub rss: u64,
    /// Peak resident set size, bytes (`VmHWM`).
    pub rss_peak: u64,
    /// User + system CPU time, seconds.
    pub cpu_secs: f64,
    pub threads: u64,
    pub open_fds: u64,
}

pub fn sample(pid: u32) -> Result<Sample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let open_fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count() as u64)
        .unwrap_or(0);
    Ok(Sample {
        rss: field("VmRSS:") * 1024,
        rss_peak: field("VmHWM:") * 1024,
        cpu_secs: cpu_secs(pid)?,
        threads: field("Threads:"),
        open_fds,
    })
}

/// utime + stime from /proc/<pid>/stat.
fn cpu_secs(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let (_, t) = parse_stat(&stat).ok_or_else(|| anyhow!("bad stat"))?;
    Ok((t.utime + t.stime) as f64 / clock_ticks())
}

/// CPU seconds of every process named `comm` together, as seen in /proc; None when there
/// is none. Children a process has waited for count too (`cutime`, `cstime`): a PostgreSQL
/// backend that exits during a window moves its time into the postmaster's, so the sum never
/// drops. Any process of that name counts, whoever it works for.
pub fn comm_cpu_secs(comm: &str) -> Option<f64> {
    let mut ticks = 0u64;
    let mut found = false;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        // A process may exit between the listing and the read.
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        if let Some((c, t)) = parse_stat(&stat) {
            if c == comm {
                found = true;
                ticks += t.utime + t.stime + t.cutime + t.cstime;
            }
        }
    }
    found.then(|| ticks as f64 / clock_ticks())
}

/// Clock ticks from one /proc/<pid>/stat line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StatTimes {
    utime: u64,
    stime: u64,
    cutime: u64,
    cstime: u64,
}

/// The `comm` field (field 2, in parentheses; it may itself contain spaces and parentheses,
/// so it ends at the last `)`) and fields 14-17 (utime, stime, cutime, cstime).
fn parse_stat(stat: &str) -> Option<(&str, StatTimes)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?;
    // The rest starts at field 3 (state): field n is at index n - 3.
    let fields: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse().ok()).unwrap_or(0);
    Some((
        comm,
        StatTimes {
            utime: field(14),
            stime: field(15),
            cutime: field(16),
            cstime: field(17),
        },
    ))
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions; it returns -1 for an unknown name.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// The limits a process runs under.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Limits {
    pub pid: u32,
    pub open_files_soft: Option<u64>,
    pub open_files_hard: Option<u64>,
    /// `net.ipv4.ip_local_port_range`: the ephemeral ports one source address can use.
    pub port_range: Option<(u32, u32)>,
}

pub fn limits(pid: u32) -> Limits {
    let text = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap_or_default();
    let nofile = text
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .map(|l| {
            let v: Vec<&str> = l["Max open files".len()..].split_whitespace().collect();
            (
                v.first().and_then(|s| s.parse().ok()),
                v.get(1).and_then(|s| s.parse().ok()),
            )
        })
        .unwrap_or((None, None));
    Limits {
        pid,
        open_files_soft: nofile.0,
        open_files_hard: nofile.1,
        port_range: port_range(),
    }
}

fn port_range() -> Option<(u32, u32)> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let mut it = text.split_whitespace().filter_map(|v| v.parse().ok());
    Some((it.next()?, it.next()?))
}

/// Machine-wide TCP counters (`TcpExt` in /proc/net/netstat) that explain slow connects:
/// a listener whose accept queue is full drops the handshake, and the client sends its SYN
/// again only after a second.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct TcpDrops {
    /// `ListenOverflows`: handshakes dropped because a listen backlog was full.
    pub listen_overflows: u64,
    /// `TCPSynRetrans`: SYNs (and SYN-ACKs) sent again.
    pub syn_retrans: u64,
}

impl TcpDrops {
    pub fn read() -> Option<TcpDrops> {
        parse_tcp_ext(&std::fs::read_to_string("/proc/net/netstat").ok()?)
    }

    /// What happened since `earlier`.
    pub fn since(self, earlier: TcpDrops) -> TcpDrops {
        TcpDrops {
            listen_overflows: self
                .listen_overflows
                .saturating_sub(earlier.listen_overflows),
            syn_retrans: self.syn_retrans.saturating_sub(earlier.syn_retrans),
        }
    }
}

/// /proc/net/netstat holds pairs of lines: `TcpExt: <names>` then `TcpExt: <values>`.
fn parse_tcp_ext(text: &str) -> Option<TcpDrops> {
    let mut rows = text.lines().filter_map(|l| l.strip_prefix("TcpExt:"));
    let (names, values) = (rows.next()?, rows.next()?);
    let get = |name: &str| {
        names
            .split_whitespace()
            .zip(values.split_whitespace())
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.parse().ok())
    };
    Some(TcpDrops {
        listen_overflows: get("ListenOverflows")?,
        syn_retrans: get("TCPSynRetrans")?,
    })
}

/// Raises this process's soft open-file limit to its hard limit (workers need ~15,000).
pub fn raise_nofile() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit write/read the struct we pass and nothing else.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_can_be_sampled_and_has_an_open_file_limit() {
        let me = std::process::id();
        let s = sample(me).unwrap();
        assert!(s.rss > 0 && s.threads >= 1 && s.open_fds >= 1);
        assert!(limits(me).open_files_soft.is_some());
    }

    #[test]
    fn the_stat_line_is_read_past_a_comm_with_spaces_and_parentheses() {
        let line = "42 (post (gres) x) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 11 13 20 0 1 0 5";
        let (comm, t) = parse_stat(line).unwrap();
        assert_eq!(comm, "post (gres) x");
        assert_eq!(
            t,
            StatTimes {
                utime: 7,
                stime: 3,
                cutime: 11,
                cstime: 13
            }
        );
        assert!(comm_cpu_secs("no-such-process-name").is_none());
    }

    #[test]
    fn listen_overflows_and_syn_retransmissions_are_read_from_the_tcp_ext_lines() {
        let text = "TcpExt: SyncookiesSent ListenOverflows TCPSynRetrans\n\
                    TcpExt: 3 1920 1461\n\
                    IpExt: InNoRoutes\n\
                    IpExt: 0\n";
        let d = parse_tcp_ext(text).unwrap();
        assert_eq!((d.listen_overflows, d.syn_retrans), (1920, 1461));
        let later = TcpDrops {
            listen_overflows: 2000,
            syn_retrans: 1461,
        };
        assert_eq!(later.since(d).listen_overflows, 80);
        assert!(
            TcpDrops::read().is_some(),
            "this machine has /proc/net/netstat"
        );
    }
}
