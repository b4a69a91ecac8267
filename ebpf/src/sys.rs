//! Thin, safe wrappers over the libbpf calls the loader needs (object open/load, link create,
//! map update/lookup, XDP query, test run) and the routing of libbpf's log into `tracing`.
//!
//! This module owns every `unsafe` block of the crate; each states why it is sound. It knows
//! nothing about xptp's program or maps beyond the names the caller passes in.

use std::{
    cell::RefCell,
    ffi::{c_char, c_int, c_void, CString},
    io,
    os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd},
    ptr::NonNull,
    sync::Once,
};

use libbpf_sys as bpf;

thread_local! {
    /// libbpf messages emitted on this thread since the last `take_log`.
    static LOG: RefCell<String> = const { RefCell::new(String::new()) };
}

unsafe extern "C" {
    // libbpf hands its print callback a `va_list`; vsnprintf is the portable way to render it.
    // The argument type is libbpf-sys's own `va_list` binding, so it matches on every target.
    fn vsnprintf(
        buf: *mut c_char,
        n: usize,
        fmt: *const c_char,
        ap: *mut bpf::__va_list_tag,
    ) -> c_int;
}

unsafe extern "C" fn print_cb(
    level: bpf::libbpf_print_level,
    fmt: *const c_char,
    ap: *mut bpf::__va_list_tag,
) -> c_int {
    let mut buf = [0u8; 1024];
    // SAFETY: `buf` is writable for its full length, which is what we pass as `n`; `fmt` and
    // `ap` come straight from libbpf, which guarantees they form a valid printf call.
    let n = unsafe { vsnprintf(buf.as_mut_ptr().cast(), buf.len(), fmt, ap) };
    if n < 0 {
        return n;
    }
    let end = (n as usize).min(buf.len().saturating_sub(1));
    let msg = String::from_utf8_lossy(&buf[..end]);
    let msg = msg.trim_end();
    match level {
        bpf::LIBBPF_WARN => tracing::warn!(target: "libbpf", "{msg}"),
        bpf::LIBBPF_INFO => tracing::info!(target: "libbpf", "{msg}"),
        _ => tracing::trace!(target: "libbpf", "{msg}"),
    }
    if level != bpf::LIBBPF_DEBUG {
        LOG.with(|l| {
            let mut l = l.borrow_mut();
            if l.len() < 64 * 1024 {
                l.push_str(msg);
                l.push('\n');
            }
        });
    }
    n
}

/// Routes libbpf's messages to `tracing` (target "libbpf") once per process.
pub(crate) fn init_logging() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: `print_cb` matches `libbpf_print_fn_t` and is valid for the program's lifetime.
        unsafe { bpf::libbpf_set_print(Some(print_cb)) };
    });
}

/// Returns (and clears) the libbpf warnings collected on this thread: the verifier log of a
/// failed load ends up here.
pub(crate) fn take_log() -> String {
    LOG.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

fn err_from_ret(ret: c_int) -> io::Error {
    // libbpf 1.x returns -errno and also sets errno.
    if ret < 0 {
        io::Error::from_raw_os_error(-ret)
    } else {
        io::Error::last_os_error()
    }
}

/// `dup(2)` into an owned descriptor with close-on-exec.
fn dup_owned(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC only reads `fd`; a negative return means nothing was created.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `new` is a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// What `load_object` hands back: the program and the named maps, as descriptors we own.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub prog: OwnedFd,
    /// The `extra_progs` that were loaded, in the order asked for.
    pub extra: Vec<OwnedFd>,
    pub maps: Vec<OwnedFd>,
}

/// Stage of `load_object` that failed.
#[derive(Debug)]
pub(crate) enum LoadStage {
    Open,
    FindProgram,
    SetFlags,
    Load,
    FindMap(String),
}

impl std::fmt::Display for LoadStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadStage::Open => f.write_str("opening the embedded object"),
            LoadStage::FindProgram => f.write_str("finding the program"),
            LoadStage::SetFlags => f.write_str("setting device-bound flags"),
            LoadStage::Load => f.write_str("loading into the kernel"),
            LoadStage::FindMap(m) => write!(f, "finding map {m}"),
        }
    }
}

/// Opens an ELF object from memory, optionally binds its program `prog_name` to a device
/// (`dev_bound` = (ifindex, extra prog flags)), loads it and returns descriptors for the program,
/// for `extra_progs` and for `map_names`. Programs of the object named in neither are not loaded
/// (their attach targets need not exist). The libbpf object is closed before returning: the
/// kernel objects live as long as the returned descriptors.
pub(crate) fn load_object(
    elf: &[u8],
    obj_name: &str,
    prog_name: &str,
    extra_progs: &[&str],
    dev_bound: Option<(u32, u32)>,
    map_names: &[&str],
    reuse_maps: &[(&str, BorrowedFd<'_>)],
) -> Result<Loaded, (LoadStage, io::Error)> {
    init_logging();
    let name = CString::new(obj_name).map_err(|e| (LoadStage::Open, io::Error::other(e)))?;
    let opts = bpf::bpf_object_open_opts {
        sz: std::mem::size_of::<bpf::bpf_object_open_opts>() as bpf::size_t,
        object_name: name.as_ptr(),
        ..Default::default()
    };
    // SAFETY: `elf` is valid for `elf.len()` bytes for the call (libbpf copies what it keeps);
    // `opts` is a properly sized, zero-initialised options struct whose name outlives the call.
    let obj =
        unsafe { bpf::bpf_object__open_mem(elf.as_ptr().cast(), elf.len() as bpf::size_t, &opts) };
    let obj = NonNull::new(obj).ok_or_else(|| (LoadStage::Open, io::Error::last_os_error()))?;
    let guard = ObjGuard(obj);
    let result = (|| {
        let pname =
            CString::new(prog_name).map_err(|e| (LoadStage::FindProgram, io::Error::other(e)))?;
        // SAFETY: `obj` is a live object owned by `guard`; `pname` is NUL-terminated.
        let prog = unsafe { bpf::bpf_object__find_program_by_name(obj.as_ptr(), pname.as_ptr()) };
        if prog.is_null() {
            return Err((
                LoadStage::FindProgram,
                io::Error::from_raw_os_error(libc::ENOENT),
            ));
        }
        // Load only what was asked for.
        let mut p = std::ptr::null_mut();
        loop {
            // SAFETY: `obj` is open; `p` is null or a program of `obj` returned by this call.
            p = unsafe { bpf::bpf_object__next_program(obj.as_ptr(), p) };
            if p.is_null() {
                break;
            }
            // SAFETY: `p` is a live program of `obj`; the name is a NUL-terminated string it owns.
            let name = unsafe { std::ffi::CStr::from_ptr(bpf::bpf_program__name(p)) };
            let wanted = name.to_bytes() == prog_name.as_bytes()
                || extra_progs.iter().any(|e| name.to_bytes() == e.as_bytes());
            // SAFETY: `p` belongs to `obj`, which is open and not yet loaded.
            let ret = unsafe { bpf::bpf_program__set_autoload(p, wanted) };
            if ret != 0 {
                return Err((LoadStage::FindProgram, err_from_ret(ret)));
            }
        }
        let mut extra_ptrs = Vec::with_capacity(extra_progs.len());
        for e in extra_progs {
            let c = CString::new(*e).map_err(|e| (LoadStage::FindProgram, io::Error::other(e)))?;
            // SAFETY: `obj` is a live object owned by `guard`; `c` is NUL-terminated.
            let ep = unsafe { bpf::bpf_object__find_program_by_name(obj.as_ptr(), c.as_ptr()) };
            if ep.is_null() {
                return Err((
                    LoadStage::FindProgram,
                    io::Error::from_raw_os_error(libc::ENOENT),
                ));
            }
            extra_ptrs.push(ep);
        }
        if let Some((ifindex, flags)) = dev_bound {
            // SAFETY: `prog` belongs to `obj`, which is open and not yet loaded.
            unsafe { bpf::bpf_program__set_ifindex(prog, ifindex) };
            // SAFETY: as above; set_flags only records the flags for the load.
            let ret = unsafe { bpf::bpf_program__set_flags(prog, flags) };
            if ret != 0 {
                return Err((LoadStage::SetFlags, err_from_ret(ret)));
            }
        }
        for (m, fd) in reuse_maps {
            let stage = || LoadStage::FindMap((*m).to_string());
            let c = CString::new(*m).map_err(|e| (stage(), io::Error::other(e)))?;
            // SAFETY: `obj` is open and not loaded; `c` is NUL-terminated.
            let map = unsafe { bpf::bpf_object__find_map_by_name(obj.as_ptr(), c.as_ptr()) };
            if map.is_null() {
                return Err((stage(), io::Error::from_raw_os_error(libc::ENOENT)));
            }
            // SAFETY: `map` belongs to the open, unloaded `obj`; libbpf dups `fd` (it stays ours)
            // and checks at load that the map's type and sizes match the definition.
            let ret = unsafe { bpf::bpf_map__reuse_fd(map, fd.as_raw_fd()) };
            if ret != 0 {
                return Err((stage(), err_from_ret(ret)));
            }
        }
        // SAFETY: `obj` is open; load may be called once.
        let ret = unsafe { bpf::bpf_object__load(obj.as_ptr()) };
        if ret != 0 {
            return Err((LoadStage::Load, err_from_ret(ret)));
        }
        // SAFETY: `prog` is loaded, so its fd is valid while `obj` is open.
        let pfd = unsafe { bpf::bpf_program__fd(prog) };
        let prog = dup_owned(pfd).map_err(|e| (LoadStage::Load, e))?;
        let mut extra = Vec::with_capacity(extra_ptrs.len());
        for ep in extra_ptrs {
            // SAFETY: `ep` is a loaded program of `obj`, which is still open.
            let fd = unsafe { bpf::bpf_program__fd(ep) };
            extra.push(dup_owned(fd).map_err(|e| (LoadStage::Load, e))?);
        }
        let mut maps = Vec::with_capacity(map_names.len());
        for m in map_names {
            let stage = || LoadStage::FindMap((*m).to_string());
            let c = CString::new(*m).map_err(|e| (stage(), io::Error::other(e)))?;
            // SAFETY: `obj` is loaded and open; `c` is NUL-terminated.
            let fd = unsafe { bpf::bpf_object__find_map_fd_by_name(obj.as_ptr(), c.as_ptr()) };
            if fd < 0 {
                return Err((stage(), err_from_ret(fd)));
            }
            maps.push(dup_owned(fd).map_err(|e| (stage(), e))?);
        }
        Ok(Loaded { prog, extra, maps })
    })();
    drop(guard);
    result
}

struct ObjGuard(NonNull<bpf::bpf_object>);

impl Drop for ObjGuard {
    fn drop(&mut self) {
        // SAFETY: the pointer came from bpf_object__open_mem and is closed exactly once, here.
        unsafe { bpf::bpf_object__close(self.0.as_ptr()) };
    }
}

/// `BPF_LINK_CREATE` for an XDP program on `ifindex` with `XDP_FLAGS_*` in `flags`. The link
/// (and so the attachment) lives exactly as long as the returned descriptor: the kernel detaches
/// the program when the last reference is closed, which includes process death by any signal.
pub(crate) fn xdp_link_create(
    prog: BorrowedFd<'_>,
    ifindex: u32,
    flags: u32,
) -> io::Result<OwnedFd> {
    let opts = bpf::bpf_link_create_opts {
        sz: std::mem::size_of::<bpf::bpf_link_create_opts>() as bpf::size_t,
        flags,
        // SAFETY: the options struct is plain data; all-zero is its documented default.
        ..unsafe { std::mem::zeroed() }
    };
    // SAFETY: `prog` is a valid program fd; `opts` is fully initialised and outlives the call.
    let fd =
        unsafe { bpf::bpf_link_create(prog.as_raw_fd(), ifindex as c_int, bpf::BPF_XDP, &opts) };
    if fd < 0 {
        return Err(err_from_ret(fd));
    }
    // SAFETY: `fd` is a new link descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Attaches a loaded BTF tracepoint program (`tp_btf/...`, its tracepoint fixed at load) with
/// `BPF_RAW_TRACEPOINT_OPEN`. Detached when the returned descriptor is closed, like the XDP link.
pub(crate) fn tp_btf_attach(prog: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    // SAFETY: `prog` is a valid program fd; a null name means "the target given at load".
    let fd = unsafe { bpf::bpf_raw_tracepoint_open(std::ptr::null(), prog.as_raw_fd()) };
    if fd < 0 {
        return Err(err_from_ret(fd));
    }
    // SAFETY: `fd` is a new link descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// XDP state of an interface: program ids per mode and the current attach mode.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct XdpQuery {
    pub prog_id: u32,
    pub drv_prog_id: u32,
    pub skb_prog_id: u32,
    pub hw_prog_id: u32,
    pub attach_mode: u8,
}

pub(crate) fn xdp_query(ifindex: u32) -> io::Result<XdpQuery> {
    let mut opts = bpf::bpf_xdp_query_opts {
        sz: std::mem::size_of::<bpf::bpf_xdp_query_opts>() as bpf::size_t,
        ..Default::default()
    };
    // SAFETY: `opts` is a properly sized, writable options struct.
    let ret = unsafe { bpf::bpf_xdp_query(ifindex as c_int, 0, &mut opts) };
    if ret != 0 {
        return Err(err_from_ret(ret));
    }
    Ok(XdpQuery {
        prog_id: opts.prog_id,
        drv_prog_id: opts.drv_prog_id,
        skb_prog_id: opts.skb_prog_id,
        hw_prog_id: opts.hw_prog_id,
        attach_mode: opts.attach_mode,
    })
}

/// `BPF_MAP_UPDATE_ELEM` with a `u32` key and a `u32` value.
pub(crate) fn map_update_u32(map: BorrowedFd<'_>, key: u32, value: u32) -> io::Result<()> {
    // SAFETY: key and value point at 4-byte locals, the map's key and value size.
    let ret = unsafe {
        bpf::bpf_map_update_elem(
            map.as_raw_fd(),
            (&key as *const u32).cast(),
            (&value as *const u32).cast(),
            u64::from(bpf::BPF_ANY),
        )
    };
    if ret != 0 {
        return Err(err_from_ret(ret));
    }
    Ok(())
}

/// `BPF_MAP_DELETE_ELEM` with a `u32` key.
pub(crate) fn map_delete_u32(map: BorrowedFd<'_>, key: u32) -> io::Result<()> {
    // SAFETY: key points at a 4-byte local, the map's key size.
    let ret = unsafe { bpf::bpf_map_delete_elem(map.as_raw_fd(), (&key as *const u32).cast()) };
    if ret != 0 {
        return Err(err_from_ret(ret));
    }
    Ok(())
}

/// Number of possible CPUs: the number of slots of a per-CPU map value.
pub(crate) fn possible_cpus() -> io::Result<usize> {
    // SAFETY: no arguments; libbpf parses /sys/devices/system/cpu/possible.
    let n = unsafe { bpf::libbpf_num_possible_cpus() };
    if n <= 0 {
        return Err(err_from_ret(n));
    }
    Ok(n as usize)
}

/// Reads every CPU's `u64` of per-CPU array slot `key` into `out` (length = possible CPUs).
pub(crate) fn percpu_lookup_u64(map: BorrowedFd<'_>, key: u32, out: &mut [u64]) -> io::Result<()> {
    // SAFETY: per-CPU values of 8 bytes are laid out as one u64 per possible CPU; `out` has
    // exactly that many elements (checked by the caller through `possible_cpus`).
    let ret = unsafe {
        bpf::bpf_map_lookup_elem(
            map.as_raw_fd(),
            (&key as *const u32).cast(),
            out.as_mut_ptr().cast::<c_void>(),
        )
    };
    if ret != 0 {
        return Err(err_from_ret(ret));
    }
    Ok(())
}

/// Result of one `BPF_PROG_TEST_RUN`.
#[derive(Debug, Clone)]
pub(crate) struct TestRun {
    pub retval: u32,
    /// Output bytes: starting at `data_meta` (metadata, then the frame).
    pub data: Vec<u8>,
    /// Output `xdp_md`: `data` is the offset of the frame start within `data`.
    pub ctx: bpf::xdp_md,
}

/// Runs an XDP program once on `frame` with an `xdp_md` context (so the kernel reports
/// `data_meta`) and returns the verdict, the output bytes and the output context.
pub(crate) fn xdp_test_run(
    prog: BorrowedFd<'_>,
    frame: &[u8],
    rx_queue: u32,
) -> io::Result<TestRun> {
    let ctx_in = bpf::xdp_md {
        data: 0,
        data_end: frame.len() as u32,
        data_meta: 0,
        ingress_ifindex: 0,
        rx_queue_index: rx_queue,
        egress_ifindex: 0,
    };
    let mut ctx_out = ctx_in;
    let mut out = vec![0u8; frame.len() + 256];
    let mut opts = bpf::bpf_test_run_opts {
        sz: std::mem::size_of::<bpf::bpf_test_run_opts>() as bpf::size_t,
        data_in: frame.as_ptr().cast(),
        data_out: out.as_mut_ptr().cast(),
        data_size_in: frame.len() as u32,
        data_size_out: out.len() as u32,
        ctx_in: (&ctx_in as *const bpf::xdp_md).cast(),
        ctx_out: (&mut ctx_out as *mut bpf::xdp_md).cast(),
        ctx_size_in: std::mem::size_of::<bpf::xdp_md>() as u32,
        ctx_size_out: std::mem::size_of::<bpf::xdp_md>() as u32,
        repeat: 1,
        ..Default::default()
    };
    // SAFETY: every pointer in `opts` refers to a live buffer of the stated size for the
    // duration of the call; the kernel writes at most `data_size_out`/`ctx_size_out` bytes.
    let ret = unsafe { bpf::bpf_prog_test_run_opts(prog.as_raw_fd(), &mut opts) };
    if ret != 0 {
        return Err(err_from_ret(ret));
    }
    out.truncate((opts.data_size_out as usize).min(out.len()));
    Ok(TestRun {
        retval: opts.retval,
        data: out,
        ctx: ctx_out,
    })
}

/// A datagram socket for interface ioctls and an `ifreq` naming `ifname`; `None` for a name
/// the kernel cannot take or when no socket can be made.
fn ifreq_socket(ifname: &str) -> Option<(OwnedFd, libc::ifreq)> {
    let name = ifname.as_bytes();
    if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.contains(&0) {
        return None;
    }
    // SAFETY: plain socket(2); closed through OwnedFd.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` is a fresh descriptor we own.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: ifreq is plain data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, &b) in req.ifr_name.iter_mut().zip(name) {
        *dst = b as c_char;
    }
    Some((sock, req))
}

/// `SIOCGIFFLAGS` and `SIOCGIFMTU` for `ifname` in the calling thread's network namespace
/// (unlike /sys/class/net, which shows the namespace that mounted sysfs). `None` when the
/// interface does not exist.
pub(crate) fn if_flags_mtu(ifname: &str) -> Option<(u32, u32)> {
    let (sock, mut req) = ifreq_socket(ifname)?;
    // SAFETY: `req` is a valid ifreq with a NUL-terminated name; the kernel fills ifru_flags.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) } != 0 {
        return None;
    }
    // SAFETY: SIOCGIFFLAGS succeeded, so the union holds flags.
    let flags = unsafe { req.ifr_ifru.ifru_flags } as u16 as u32;
    // SAFETY: same request buffer; the kernel fills ifru_mtu.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFMTU, &mut req) } != 0 {
        return None;
    }
    // SAFETY: SIOCGIFMTU succeeded, so the union holds the MTU.
    let mtu = unsafe { req.ifr_ifru.ifru_mtu } as u32;
    Some((flags, mtu))
}

/// The interface's driver name (`ethtool -i`: ETHTOOL_GDRVINFO), e.g. "veth"; `None` when the
/// interface does not exist or the driver does not answer.
pub(crate) fn if_driver(ifname: &str) -> Option<String> {
    /// `struct ethtool_drvinfo` (linux/ethtool.h): only `cmd` and `driver` are read.
    #[repr(C)]
    struct DrvInfo {
        cmd: u32,
        driver: [u8; 32],
        rest: [u8; 160],
    }
    const ETHTOOL_GDRVINFO: u32 = 0x0000_0003;
    let (sock, mut req) = ifreq_socket(ifname)?;
    let mut info = DrvInfo {
        cmd: ETHTOOL_GDRVINFO,
        driver: [0; 32],
        rest: [0; 160],
    };
    req.ifr_ifru.ifru_data = (&mut info as *mut DrvInfo).cast();
    // SAFETY: `req` names the interface and points at a drvinfo buffer the size the kernel
    // writes (196 bytes), which lives across the call.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCETHTOOL, &mut req) } != 0 {
        return None;
    }
    let end = info.driver.iter().position(|&b| b == 0).unwrap_or(32);
    Some(String::from_utf8_lossy(&info.driver[..end]).into_owned())
}

/// `if_nametoindex(3)`: `None` when no such interface exists (or the name has a NUL byte).
pub(crate) fn if_index(ifname: &str) -> Option<u32> {
    let c = CString::new(ifname).ok()?;
    // SAFETY: `c` is a NUL-terminated string that outlives the call.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (idx != 0).then_some(idx)
}

/// Key and value sizes of a map (`BPF_OBJ_GET_INFO_BY_FD`).
pub(crate) fn map_sizes(map: BorrowedFd<'_>) -> io::Result<(u32, u32)> {
    // SAFETY: bpf_map_info is plain data; all-zero is a valid value.
    let mut info: bpf::bpf_map_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<bpf::bpf_map_info>() as u32;
    // SAFETY: `info` is writable for `len` bytes, which is what we pass.
    let ret = unsafe { bpf::bpf_map_get_info_by_fd(map.as_raw_fd(), &mut info, &mut len) };
    if ret != 0 {
        return Err(err_from_ret(ret));
    }
    Ok((info.key_size, info.value_size))
}

/// `BPF_MAP_UPDATE_ELEM` with byte slices whose lengths the caller has checked against
/// [`map_sizes`].
pub(crate) fn map_update_bytes(map: BorrowedFd<'_>, key: &[u8], value: &[u8]) -> io::Result<()> {
    let (ks, vs) = map_sizes(map)?;
    if key.len() != ks as usize || value.len() != vs as usize {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "map has {ks}-byte keys and {vs}-byte values, got {} and {}",
                key.len(),
                value.len()
            ),
        ));
    }
    // SAFETY: key and value are valid for the map's key and value sizes (checked above).
    let ret = unsafe {
        bpf::bpf_map_update_elem(
            map.as_raw_fd(),
            key.as_ptr().cast(),
            value.as_ptr().cast(),
            u64::from(bpf::BPF_ANY),
        )
    };
    if ret != 0 {
        return Err(err_from_ret(ret));
    }
    Ok(())
}
