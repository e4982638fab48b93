//! Work that must finish once it has begun: while a `Shield` is held, Ctrl-C (and on Unix
//! SIGTERM and SIGHUP) waits, and a signal that came meanwhile takes effect when the last
//! shield is dropped, as if it had arrived then. A refresh holds one from the moment its request
//! is sent until what the issuer returned is saved: the issuer has spent the old refresh token
//! by then, so a process ended in between would sign the user out.

/// Held across the sending of a refresh request and the save of its answer.
#[must_use = "the shield protects only while it is held"]
pub struct Shield {
    _private: imp::Held,
}

impl Shield {
    pub fn hold() -> Shield {
        Shield {
            _private: imp::Held::new(),
        }
    }
}

#[cfg(unix)]
mod imp {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicI32, Ordering};

    /// Signals that end the process by default and that a person or a session sends.
    const DEFERRED: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

    /// The last deferred signal that arrived (0: none). Only an atomic store happens in the
    /// handler, which is all a signal handler may safely do.
    static PENDING: AtomicI32 = AtomicI32::new(0);

    struct Shields {
        count: usize,
        /// The actions to put back when the last shield goes.
        previous: Vec<(libc::c_int, libc::sigaction)>,
    }

    static SHIELDS: Mutex<Shields> = Mutex::new(Shields {
        count: 0,
        previous: Vec::new(),
    });

    extern "C" fn defer(signal: libc::c_int) {
        PENDING.store(signal, Ordering::SeqCst);
    }

    pub struct Held;

    impl Held {
        pub fn new() -> Held {
            let mut shields = SHIELDS.lock().unwrap_or_else(|e| e.into_inner());
            if shields.count == 0 {
                for signal in DEFERRED {
                    // SAFETY: a zeroed `sigaction` is a valid value to fill in; the handler only
                    // stores to an atomic, and `old` receives the action to restore later.
                    unsafe {
                        let mut action: libc::sigaction = std::mem::zeroed();
                        action.sa_sigaction = defer as extern "C" fn(libc::c_int) as usize;
                        action.sa_flags = libc::SA_RESTART;
                        libc::sigemptyset(&mut action.sa_mask);
                        let mut old: libc::sigaction = std::mem::zeroed();
                        if libc::sigaction(signal, &action, &mut old) == 0 {
                            shields.previous.push((signal, old));
                        }
                    }
                }
            }
            shields.count += 1;
            Held
        }
    }

    impl Drop for Held {
        fn drop(&mut self) {
            let mut shields = SHIELDS.lock().unwrap_or_else(|e| e.into_inner());
            shields.count = shields.count.saturating_sub(1);
            if shields.count > 0 {
                return;
            }
            for (signal, old) in shields.previous.drain(..) {
                // SAFETY: `old` is the action `sigaction` reported for this signal.
                unsafe {
                    libc::sigaction(signal, &old, std::ptr::null_mut());
                }
            }
            let pending = PENDING.swap(0, Ordering::SeqCst);
            drop(shields);
            if pending != 0 {
                // Delivered now under the action it would have met (by default: the end of
                // the process, with the signal as its status).
                // SAFETY: raising a signal has no preconditions.
                unsafe {
                    libc::raise(pending);
                }
            }
        }
    }
}

#[cfg(windows)]
mod imp {
    use std::task::{Context, Poll, Waker};

    /// The status a console process ends with on Ctrl-C (STATUS_CONTROL_C_EXIT).
    const CONTROL_C_EXIT: u32 = 0xC000_013A;

    /// While tokio has a listener for Ctrl-C and Ctrl-Break, its console handler reports the
    /// event as handled and the process goes on; dropped, the default handler ends it again.
    pub struct Held {
        ctrl_c: Option<tokio::signal::windows::CtrlC>,
        ctrl_break: Option<tokio::signal::windows::CtrlBreak>,
    }

    impl Held {
        pub fn new() -> Held {
            Held {
                ctrl_c: tokio::signal::windows::ctrl_c().ok(),
                ctrl_break: tokio::signal::windows::ctrl_break().ok(),
            }
        }
    }

    impl Drop for Held {
        fn drop(&mut self) {
            let mut cx = Context::from_waker(Waker::noop());
            let c = self
                .ctrl_c
                .as_mut()
                .is_some_and(|l| matches!(l.poll_recv(&mut cx), Poll::Ready(Some(()))));
            let brk = self
                .ctrl_break
                .as_mut()
                .is_some_and(|l| matches!(l.poll_recv(&mut cx), Poll::Ready(Some(()))));
            if c || brk {
                std::process::exit(CONTROL_C_EXIT as i32);
            }
        }
    }
}

#[cfg(not(any(unix, windows)))]
mod imp {
    pub struct Held;

    impl Held {
        pub fn new() -> Held {
            Held
        }
    }
}
