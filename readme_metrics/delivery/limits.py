"""The numbers delivery keeps to: retry budgets, backoff and probe bounds, how long a
POST is waited, how much one carries, how many go at once.

Constants only, each with why it is what it is (the measurements behind it): the rules
that use them are :mod:`.policy` (when to try again, how much to send) and
:mod:`.outcome` (what an answer means); the parts that act on them (queue, batcher,
health, senders) import them from here or, as before, from :mod:`.policy`.
"""

from __future__ import annotations

#: Failed attempts at the longest backoff (its ceiling at ``BACKOFF_CAP``) after which a
#: batch is dropped. The attempts while the batch's own backoff still climbs to the cap
#: (0.5, 1, 2, 4, 8 and 16 s: 6 with the defaults) do not count: a batch is tried at most
#: 11 times, over 75 s of its own backoffs on average, so an outage of tens of seconds
#: loses nothing, and a batch that draws a few failures in a row by chance (a load
#: balancer shedding a third of the POSTs) is not dropped for it. Counted by the batch's
#: own attempts only (:func:`spends_attempt`), and none made while the API is taken for
#: down (``ApiHealth.exhausted``: those count against ``MAX_DOWN_ATTEMPTS``).
MAX_ATTEMPTS = 5
#: Failed attempts at the longest backoff made while the API is taken for down (the
#: probes) after which a batch is dropped. A probe's failure says the API is still down,
#: nothing of its logs: counting it against ``MAX_ATTEMPTS`` dropped the oldest batch of
#: an outage 48 to 110 s in, the queue far from full. 120 at the 30 s cap: an outage of
#: about half an hour (up to an hour) drops no batch for its attempts, only new logs at
#: the queue's bounds (``dropped_queue_full``); retries stay bounded all the same (SPEC 7).
MAX_DOWN_ATTEMPTS = 120
#: First backoff ceiling in seconds; it doubles per consecutive failure (full jitter) up
#: to the cap.
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
#: Consecutive failed attempts (no POST delivered between them, whichever batches they
#: carried) after which the Metrics API is taken for down: every sender then holds for
#: one backoff and one POST at a time probes it (no retry storm). Fewer failures are a
#: mostly healthy API's (a load balancer shedding a share of the POSTs, a flaky proxy):
#: only the failed batch waits its backoff, the other senders go on.
DOWN_AFTER = 3
#: The longest hold between two probes of an API taken for down (the hold grows from
#: ``BACKOFF_BASE`` with the failures in a row, full jitter, as a backoff does). Lower
#: than ``BACKOFF_CAP``: the first probe after the API is back comes within 5 s (1.7 s on
#: average), not 30 (10 s on average), and its success releases every batch held
#: (:meth:`~readme_metrics.delivery.batcher.Batcher.settle`). A dead API sees one POST
#: every 2.5 s on average from a process, one at a time; each batch still waits its own
#: backoff (up to ``BACKOFF_CAP``) between its own attempts, so the probes are the
#: batches whose backoff is over, or the logs that came meanwhile.
PROBE_CAP = 5.0
#: The longest a probe of an API taken for down waits for the one in flight before it
#: goes too (``timeout`` at first, doubling with each probe let go so while none was
#: answered: ``pacing.probe_wait``). A black-holed API (it takes the POSTs and
#: never answers) saw one more POST every ``timeout`` plus the hold: 13.6 a minute from
#: each process with the defaults, up to 10 held open at once; now 5.4 a minute, 3 open
#: (benchmarks/blackhole.py, a fake clock). Not 30 s (1.8 a minute): the first log
#: queued after a 60 s black hole was delivered 27.5 s after it (median), 9.0 s at 10.
PROBE_OVERLAP_CAP = 10.0
#: While the API is taken for down and a POST has waited this long for its answer (a
#: black hole: an API that takes the POSTs and never answers), a request that carries no
#: logs (``GET`` of the POSTs' path, no key: ``DirectPoster.answers``) asks whether its
#: host answers, one at a time, each bounded by this many seconds (or ``timeout`` if
#: less), ``CHECK_GAP`` apart. One answered after one went unanswered lets the next probe
#: go at once (once per outage: ``ApiHealth.checked_locked``), not up to
#: ``PROBE_OVERLAP_CAP`` after the probe before, held on a dead connection: the queue
#: stayed full 5 to 5.5 s after a 20 s black hole (delivery22). No POST more.
CHECK_BOUND = 1.0
CHECK_GAP = 1.0
#: Retry-After is honoured: no retry comes earlier than the server asked. Only an absurd
#: value (a date far in the future) is cut to this, so a mistake there cannot stall
#: delivery for days; meanwhile the queue stays bounded and new logs are counted as drops.
RETRY_AFTER_CAP = 3600.0
#: The longest every sender holds for one Retry-After: the batch it answered waits all
#: of it (up to ``RETRY_AFTER_CAP``), the others one probe at a time after this. A
#: Retry-After of an hour (a proxy's mistake, a date misread) held every sender an hour
#: while the queue filled and every log after it was dropped; now the API that means it
#: sees one POST a minute (each answered so waits its own hour), as after a 401/403.
RETRY_AFTER_HOLD = 60.0
#: The longest a POST waits for the Metrics API's answer once POSTs timed out: an attempt
#: that got no answer within its bound (``timeout``, 3 s by default) is tried again with
#: twice that bound, up to this (3, 6, 12, 24, 48, 60 s), and once an answer came later
#: than ``timeout`` every POST waits as long as that answer needed (:func:`next_timeout`).
#: Without it, an API answering in 4 s had every POST cut at 3 s and retried until it
#: was dropped: nothing delivered, each log sent 11 times. A ``timeout`` above it is
#: kept as it is. At exit, ``shutdown_timeout`` still bounds every POST (and a close
#: the POSTs in flight as it begins). 30 s before delivery29: an API answering in 40 s
#: had every POST cut at 30 s and sent again, none counted as sent (200 logs/s for
#: 10 s: 0 of 2,000, 1,870 ``dropped_shutdown``, the API had read them all); 60 s is
#: the idle timeout of the usual load balancers and proxies, past which an answer is
#: cut on the way anyway.
TIMEOUT_CAP = 60.0

#: The longest a POST taken for lost (a POST begun after it was answered fast) is waited
#: before it is cut (``Stretch.lost_wait``, ``Attempt._lost_after``), or ``timeout`` if
#: above it: the longest bound before delivery29 (twice an average of 25 s held such a
#: POST 50 s, delivery28), kept when ``TIMEOUT_CAP`` went to 60 s: it is most likely a
#: dead connection, whose logs count against ``max_queue_size`` while it is waited.
LOST_CAP = 30.0

#: The share of ``max_queue_size`` (and ``max_queue_bytes``) below which a POST taken for
#: lost is held past its bound (``watchdog.cut_lost``, or spared), the API maybe only
#: late: at or above it, the held ones get their own deadline back (``watchdog.release``)
#: before the queue refuses new logs. Not lower: as an API slow for a while (8 s, 1,000
#: logs/s) turns fast, the POSTs it still works on fill 95 % of the default 10,000,
#: about to be answered.
HOLD_SHARE = 0.98
#: How long a 401/403 stops delivery; a wrong key does not fix itself within seconds.
AUTH_PAUSE = 60.0
#: At most one warning of each kind per this many seconds.
WARN_INTERVAL = 60.0

#: Most logs one POST carries. A POST goes as soon as buffer_length logs wait; when more
#: wait (the API is slower than the traffic), one POST takes up to this many, so the
#: delivery rate grows with the backlog instead of being buffer_length per round trip.
MAX_POST_LOGS = 500
#: Most bytes of JSON one POST carries; a single log above it goes alone. A batch is cut
#: by captured bytes (at most this many) and encoded up to this many bytes of JSON, the
#: logs past it left for the next POST (held.py): a log's JSON is about 2.8 times its
#: captured bytes for a small GET (925 -> 2,599), 6 times for a body of control
#: characters (each a ``\u00XX``), up to about 19 times for a Cookie header of many tiny
#: cookies (each value sent as its 100-character mask: 8,856 -> 171,559). Counted by
#: captured bytes until delivery48, a POST at this cap was up to about 40 MB. A 413
#: splits it (docs/DELIVERY.md, Batches).
MAX_POST_BYTES = 2 * 1024 * 1024
#: After a 413 lowered the bytes a POST carries (``split``), this many POSTs delivered
#: double it again, up to ``MAX_POST_BYTES``: a 413 that was the API's passing state (or
#: a proxy since reconfigured) does not leave POSTs of a few logs for the life of the
#: process (a 413 to a batch of two small logs capped every later POST at one log, and
#: 2,000 logs/s then filled the queue). A limit that stays costs one 413 per that many
#: POSTs at most, its POST sent again in halves: nothing is lost.
RAISE_POST_BYTES_AFTER = 100
#: Most sender threads per Delivery, hence most POSTs in flight at once. One thread runs
#: while one POST at a time keeps up; another starts only while every sender is busy and
#: the backlog outgrows them, and only while a POST's wait on the API is longer than
#: what the other busy senders spend encoding (Staffing.claim_sender_locked: past that,
#: the CPU is the bottleneck and more threads only share it). The POSTs of new logs are
#: spread over the API's round trip (pacing.post_wait), each its share of the
#: traffic. 32, not 16 (delivery19): 16 x 500 logs per round trip was exactly 2,000
#: logs/s against an API that takes 4 s, and with the POSTs spread, 718 of 20,000 were
#: still dropped there (16 POSTs of 500 in flight, the backlog never drained); 32 had
#: none dropped. The logs in flight count against max_queue_size and bytes, which at
#: their defaults come first past that: rate x answer time must fit in them (10,000
#: logs: 2,000/s to an API answering in 8 s needs max_queue_size 16,000 to 20,000;
#: docs/DELIVERY.md "Threads"). Threads cost little memory (the logs they hold are
#: counted); each keeps a connection to the API. Those a burst started end once a
#: minute passes with fewer POSTs in flight (Staffing.surplus_locked).
MAX_SENDERS = 32
