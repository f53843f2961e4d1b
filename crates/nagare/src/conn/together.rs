//! The connection's driver and the service method, run in one task without
//! waking that task for what they tell each other.
//!
//! The two talk through queues, and every queue wakes its reader: the driver
//! queues a message it read (waking the method), the method queues its answer
//! (waking the driver). With the task's own waker each of those wakes sends
//! the task back through the scheduler to be polled whole again, two trips
//! per message. Here both are polled with a waker of our own: a wake that
//! comes while they are being polled asks for another round within the same
//! poll; a wake from outside (the socket, a timer, another task) wakes the
//! task as usual.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;

/// Rounds within one poll before the task yields to the others, however
/// much the two still have to say to each other.
const ROUNDS: usize = 16;

/// Which of the two finished first.
pub(crate) enum Finished<R> {
    /// The service method returned.
    Method(R),
    /// The connection is over.
    Driver,
}

/// Polls `driver` and `method` until one of them finishes; both stay where
/// they are, so the caller can go on polling the other.
pub(crate) struct Together<'a, D, M> {
    driver: Pin<&'a mut D>,
    method: Pin<&'a mut M>,
    flag: Arc<Flag>,
    waker: Waker,
}

/// What the inner waker records.
struct Flag {
    /// The two are being polled: a wake only asks for another round.
    polling: AtomicBool,
    /// A wake came during the current round.
    woken: AtomicBool,
    /// The task's waker, for wakes from outside a poll.
    task: AtomicWaker,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, SeqCst);
        // Both flags are sequentially consistent: either the round sees
        // `woken`, or this sees `polling` cleared and wakes the task.
        if !self.polling.load(SeqCst) {
            self.task.wake();
        }
    }
}

impl<'a, D, M> Together<'a, D, M>
where
    D: Future<Output = ()>,
    M: Future,
{
    pub(crate) fn new(driver: Pin<&'a mut D>, method: Pin<&'a mut M>) -> Self {
        let flag = Arc::new(Flag {
            polling: AtomicBool::new(false),
            woken: AtomicBool::new(false),
            task: AtomicWaker::new(),
        });
        Together {
            driver,
            method,
            waker: Waker::from(flag.clone()),
            flag,
        }
    }
}

impl<D, M> Future for Together<'_, D, M>
where
    D: Future<Output = ()>,
    M: Future,
{
    type Output = Finished<M::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.flag.task.register(cx.waker());
        let mut inner = Context::from_waker(&this.waker);
        for _ in 0..ROUNDS {
            this.flag.woken.store(false, SeqCst);
            this.flag.polling.store(true, SeqCst);
            // The driver first: what it reads is answered in the same round.
            let driver = this.driver.as_mut().poll(&mut inner);
            let method = match driver {
                Poll::Ready(()) => Poll::Pending,
                Poll::Pending => this.method.as_mut().poll(&mut inner),
            };
            this.flag.polling.store(false, SeqCst);
            if driver.is_ready() {
                return Poll::Ready(Finished::Driver);
            }
            if let Poll::Ready(r) = method {
                return Poll::Ready(Finished::Method(r));
            }
            if !this.flag.woken.swap(false, SeqCst) {
                return Poll::Pending;
            }
            if !tokio::task::coop::has_budget_remaining() {
                break;
            }
        }
        // More to do, but other tasks get their turn first.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use futures_channel::mpsc;
    use futures_util::{SinkExt, StreamExt};

    use super::*;
    use crate::conn::wake_count::WakeCount;

    #[tokio::test]
    async fn what_the_two_tell_each_other_costs_the_task_no_wake() {
        let (mut to_method, mut from_driver) = mpsc::channel::<u32>(4);
        let (mut to_driver, mut from_method) = mpsc::channel::<u32>(4);
        let driver = std::pin::pin!(async move {
            for i in 0..3 {
                let _ = to_method.send(i).await;
                let _ = from_method.next().await;
            }
        });
        let method = std::pin::pin!(async move {
            let mut n = 0;
            while let Some(i) = from_driver.next().await {
                let _ = to_driver.send(i).await;
                n += 1;
            }
            n
        });
        let mut both = Together::new(driver, method);
        let (count, waker) = WakeCount::waker();
        let mut cx = Context::from_waker(&waker);
        // Three exchanges, then the driver ends: all in one poll, no wake.
        assert!(matches!(
            Pin::new(&mut both).poll(&mut cx),
            Poll::Ready(Finished::Driver)
        ));
        assert_eq!(count.get(), 0);
    }

    #[tokio::test]
    async fn a_wake_from_outside_wakes_the_task() {
        let (tx, mut rx) = mpsc::channel::<()>(1);
        let driver = std::pin::pin!(async move {
            let _ = rx.next().await;
        });
        let method = std::pin::pin!(std::future::pending::<()>());
        let mut both = Together::new(driver, method);
        let (count, waker) = WakeCount::waker();
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut both).poll(&mut cx).is_pending());
        let mut tx = tx;
        assert!(tx.try_send(()).is_ok());
        assert_eq!(count.get(), 1);
        assert!(matches!(
            Pin::new(&mut both).poll(&mut cx),
            Poll::Ready(Finished::Driver)
        ));
    }
}
