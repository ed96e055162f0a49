"""The verdict engine's knobs, read in one place.

Every default says where its number comes from (the systems are described in
docs/verdict.md, which cites the sources). Thresholds on belief are
probabilities; thresholds on shares are fractions of 0..1.
"""

from __future__ import annotations

from dataclasses import dataclass

# Trinocular (SIGCOMM 2013): a block is up when belief > 0.9, down when < 0.1, uncertain between.
DEFAULT_BELIEF_UP = 0.9
DEFAULT_BELIEF_DOWN = 0.1
# Trinocular models a reply from a down block as (nearly) impossible; a small floor keeps a single
# mis-attributed or forged reply finite in the log-odds (ln(0.98/0.001) = +6.9 per reply).
DEFAULT_ANSWER_PROBABILITY_WHEN_DOWN = 0.001
# Capping availability at 0.98 bounds the weight of one silence at ln(0.02) = -3.9: with 5 % random
# loss (the simulator's noise level) a single lost reply must never look like an outage.
DEFAULT_MAX_AVAILABILITY = 0.98
# A target never seen before: assume it usually answers (Trinocular starts from its census instead).
DEFAULT_AVAILABILITY = 0.8
# A(E) is an average while history is short, then an EWMA with this weight: ~35 rounds half-life
# (about 3 h of 5-minute rounds), long enough that an outage of a few rounds barely moves it.
DEFAULT_AVAILABILITY_MIN_ALPHA = 0.02
# Trinocular ignores never-active addresses; after this many rounds without a single answer a
# target carries no weight at all.
DEFAULT_NEVER_ANSWERED_ROUNDS = 3
# The belief carried from the last round is clipped to 0.99 / 0.01 so that one round of corroborated
# evidence can always override it (the target: detection within one round).
DEFAULT_PRIOR_CAP = 0.99
# No single vantage point can move the AS's log-odds by more than ln(999) = 6.9 (belief 0.999):
# one lying probe is outvoted by two honest ones (the "one liar in five never flips").
DEFAULT_VANTAGE_POINT_CAP = 0.999
# The corroboration rule (Disco and Thunderping both refuse single-probe verdicts).
DEFAULT_MIN_DOWN_VANTAGE_POINTS = 2
DEFAULT_MIN_DOWN_VANTAGE_ASNS = 2
# Thunderping: a vantage point that sees (nearly) everything fail is the one that is down.
DEFAULT_OFFLINE_MAX_ANSWERED_RATIO = 0.05
DEFAULT_OFFLINE_MIN_ATTEMPTS = 3
# DEGRADED by partial reachability: at least this share (and count) of the AS's reliable targets
# (availability >= 0.9) fail from >= 2 vantage points in >= 2 ASes. A reliable target fails from two
# of three vantage points by chance with p <= 3 x 0.1^2 = 0.03 (~0.0075 at 5 % loss); three of ten
# at once by chance is ~ 1e-5 per AS-round. Flaky targets fail together too often to count.
DEFAULT_DEGRADED_MIN_TARGET_SHARE = 0.25
DEFAULT_DEGRADED_MIN_TARGETS = 2
DEFAULT_DEGRADED_MIN_AVAILABILITY = 0.9
# ... and that many corroborated failures must be unlikely by chance given each target's learned
# availability (which includes the usual loss): at 10 % loss two of eight targets failing from two of
# three vantage points happens in ~2 % of rounds — too often to call.
DEFAULT_DEGRADED_MAX_CHANCE = 0.001
# Throttling (Kazakhstan 2022: mobile traffic "did not drop to zero" first): loss or RTT far above
# the AS's own baseline. RIPE Atlas alerts at 75 % loss per probe; we want throttling earlier, so
# +20 points of loss and at least twice the baseline, or 3x the baseline RTT and +50 ms.
DEFAULT_THROTTLE_LOSS_INCREASE = 0.2
DEFAULT_THROTTLE_LOSS_FACTOR = 2.0
DEFAULT_THROTTLE_RTT_FACTOR = 3.0
DEFAULT_THROTTLE_RTT_INCREASE_MS = 50.0
# Baselines (loss, RTT, reachability ratio) are EWMAs over normal rounds (IODA compares with a
# recent moving median; an EWMA of weight 0.1 is ~ the last 10 rounds) and need a few rounds first.
DEFAULT_BASELINE_ALPHA = 0.1
DEFAULT_BASELINE_MIN_ROUNDS = 3
# Interference (OONI Web Connectivity): a target counts only when it works from the control.
DEFAULT_CONTROL_MIN_SUCCESS_RATIO = 0.5
# OONI compares body lengths with a 0.7 ratio.
DEFAULT_BODY_LENGTH_RATIO = 0.7
# "Several targets": at least two distinct targets anomalous from one inside vantage point.
DEFAULT_FILTERED_MIN_TARGETS = 2
# FILTERED confidence = agreeing share x (1 - 0.4^agreeing): one inside vantage point 0.6, two 0.84,
# three 0.94 (each independent inside probe cuts the chance that a broken or lying one explains it).
DEFAULT_FILTERED_DOUBT_PER_VANTAGE_POINT = 0.4
# OONI's anomaly threshold is a score above 0.5.
DEFAULT_FILTERED_MIN_CONFIDENCE = 0.5
# Hysteresis (the issue: one noisy round neither opens nor closes an event).
DEFAULT_EVENT_OPEN_ROUNDS = 2
DEFAULT_EVENT_CLOSE_ROUNDS = 2
# A corroborated DOWN this sure is not a noisy round: the outage event opens at once (Trinocular
# detects every outage lasting one round).
DEFAULT_EVENT_OPEN_IMMEDIATELY_CONFIDENCE = 0.95
# Country roll-up over weighted AS shares (weights = targets measured in the AS).
DEFAULT_COUNTRY_DOWN_SHARE = 0.5
DEFAULT_COUNTRY_DEGRADED_SHARE = 0.2
DEFAULT_COUNTRY_FILTERED_SHARE = 0.2
# Fusion with the routing signal (collector/verdict/mechanism.py). A corroborated DOWN whose routes
# are withdrawn too has two independent witnesses: its doubt is halved (IODA alerts on BGP and
# active probing separately and trusts an outage more when both agree).
DEFAULT_ROUTING_AGREEMENT_DOUBT = 0.5
# Probes fail from one vantage point only (not corroborated) and the routes are withdrawn: the
# routing table is the second witness, as a second vantage point in another AS would be. The
# confidence stays under event_open_immediately_confidence: such an outage opens after two rounds.
DEFAULT_ROUTING_CORROBORATED_CONFIDENCE = 0.9
# A country's mechanism is the one carrying at least this share of its affected (weighted) ASes;
# below it the mechanisms are mixed and the country's is UNKNOWN.
DEFAULT_COUNTRY_MECHANISM_SHARE = 0.5
# Bounded state: an AS or a target not measured for this long is forgotten (its availability,
# belief and baselines would be stale anyway: the availability EWMA's half-life is ~3 h, the
# baselines' ~10 rounds). Seven days is the issue's default, and the revise window's: a late
# result can still find the state its round was computed from.
DEFAULT_FORGET_AFTER_S = 7 * 24 * 3600.0


@dataclass(frozen=True, slots=True)
class VerdictConfig:
    belief_up: float = DEFAULT_BELIEF_UP
    belief_down: float = DEFAULT_BELIEF_DOWN
    answer_probability_when_down: float = DEFAULT_ANSWER_PROBABILITY_WHEN_DOWN
    max_availability: float = DEFAULT_MAX_AVAILABILITY
    default_availability: float = DEFAULT_AVAILABILITY
    availability_min_alpha: float = DEFAULT_AVAILABILITY_MIN_ALPHA
    never_answered_rounds: int = DEFAULT_NEVER_ANSWERED_ROUNDS
    prior_cap: float = DEFAULT_PRIOR_CAP
    vantage_point_cap: float = DEFAULT_VANTAGE_POINT_CAP
    min_down_vantage_points: int = DEFAULT_MIN_DOWN_VANTAGE_POINTS
    min_down_vantage_asns: int = DEFAULT_MIN_DOWN_VANTAGE_ASNS
    offline_max_answered_ratio: float = DEFAULT_OFFLINE_MAX_ANSWERED_RATIO
    offline_min_attempts: int = DEFAULT_OFFLINE_MIN_ATTEMPTS
    degraded_min_target_share: float = DEFAULT_DEGRADED_MIN_TARGET_SHARE
    degraded_min_targets: int = DEFAULT_DEGRADED_MIN_TARGETS
    degraded_min_availability: float = DEFAULT_DEGRADED_MIN_AVAILABILITY
    degraded_max_chance: float = DEFAULT_DEGRADED_MAX_CHANCE
    throttle_loss_increase: float = DEFAULT_THROTTLE_LOSS_INCREASE
    throttle_loss_factor: float = DEFAULT_THROTTLE_LOSS_FACTOR
    throttle_rtt_factor: float = DEFAULT_THROTTLE_RTT_FACTOR
    throttle_rtt_increase_ms: float = DEFAULT_THROTTLE_RTT_INCREASE_MS
    baseline_alpha: float = DEFAULT_BASELINE_ALPHA
    baseline_min_rounds: int = DEFAULT_BASELINE_MIN_ROUNDS
    control_min_success_ratio: float = DEFAULT_CONTROL_MIN_SUCCESS_RATIO
    body_length_ratio: float = DEFAULT_BODY_LENGTH_RATIO
    filtered_min_targets: int = DEFAULT_FILTERED_MIN_TARGETS
    filtered_doubt_per_vantage_point: float = DEFAULT_FILTERED_DOUBT_PER_VANTAGE_POINT
    filtered_min_confidence: float = DEFAULT_FILTERED_MIN_CONFIDENCE
    event_open_rounds: int = DEFAULT_EVENT_OPEN_ROUNDS
    event_close_rounds: int = DEFAULT_EVENT_CLOSE_ROUNDS
    event_open_immediately_confidence: float = DEFAULT_EVENT_OPEN_IMMEDIATELY_CONFIDENCE
    country_down_share: float = DEFAULT_COUNTRY_DOWN_SHARE
    country_degraded_share: float = DEFAULT_COUNTRY_DEGRADED_SHARE
    country_filtered_share: float = DEFAULT_COUNTRY_FILTERED_SHARE
    forget_after_s: float = DEFAULT_FORGET_AFTER_S
    routing_agreement_doubt: float = DEFAULT_ROUTING_AGREEMENT_DOUBT
    routing_corroborated_confidence: float = DEFAULT_ROUTING_CORROBORATED_CONFIDENCE
    country_mechanism_share: float = DEFAULT_COUNTRY_MECHANISM_SHARE
    # The vectorised fast path (fast.py) for plain ASes; False runs the reference path only. Both
    # give the same verdicts (tests/collector/verdict/test_fast_path.py).
    vectorized: bool = True

    def __post_init__(self) -> None:
        if not 0.0 < self.belief_down < self.belief_up < 1.0:
            raise ValueError("need 0 < belief_down < belief_up < 1")
        if self.min_down_vantage_points < 1 or self.min_down_vantage_asns < 1:
            raise ValueError("corroboration needs at least one vantage point and one AS")
        if not 0.0 < self.answer_probability_when_down < 1.0:
            raise ValueError("answer_probability_when_down must be in (0, 1)")
        if not 0.0 < self.max_availability < 1.0:
            raise ValueError("max_availability must be in (0, 1)")
        if self.forget_after_s <= 0.0:
            raise ValueError("forget_after_s must be positive")
        if not 0.0 <= self.routing_agreement_doubt <= 1.0:
            raise ValueError("routing_agreement_doubt must be in [0, 1]")
        if not 0.0 < self.routing_corroborated_confidence < 1.0:
            raise ValueError("routing_corroborated_confidence must be in (0, 1)")
        if not 0.0 < self.country_mechanism_share <= 1.0:
            raise ValueError("country_mechanism_share must be in (0, 1]")
        if self.event_open_rounds < 1 or self.event_close_rounds < 1:
            raise ValueError("event hysteresis needs at least one round")
