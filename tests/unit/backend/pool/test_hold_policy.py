from wrapper.backend.pool.hold_policy import WORTH_HOLDING_RATE, HoldPolicy


def test_after_a_restart_holding_waits_for_a_follow_up_to_come() -> None:
    policy = HoldPolicy()
    assert not policy.worth_holding
    policy.dropped("conversation-0")
    policy.missed("conversation-0")
    assert policy.worth_holding


def test_holds_until_the_traffic_shows_follow_ups_do_not_come() -> None:
    policy = HoldPolicy()
    policy.rate = 1.0
    for n in range(40):
        policy.dropped(f"conversation-{n}")
    assert policy.rate < WORTH_HOLDING_RATE
    assert not policy.worth_holding


def test_claims_keep_holding_worth_it() -> None:
    policy = HoldPolicy()
    policy.rate = 1.0
    for n in range(40):
        policy.dropped(f"one-shot-{n}")
        policy.claimed()
    assert policy.worth_holding


def test_a_follow_up_after_its_conversation_was_dropped_counts_as_a_claim() -> None:
    policy = HoldPolicy()
    for n in range(40):
        policy.dropped(f"conversation-{n}")
    assert not policy.worth_holding
    for n in range(40):
        policy.missed(f"conversation-{n}")
    assert policy.worth_holding


def test_a_miss_of_a_conversation_never_held_changes_nothing() -> None:
    policy = HoldPolicy()
    for n in range(40):
        policy.dropped(f"conversation-{n}")
    before = policy.rate
    policy.missed("never-seen")
    assert policy.rate == before


def test_a_dropped_conversation_counts_as_claimed_once() -> None:
    policy = HoldPolicy()
    for n in range(40):
        policy.dropped(f"conversation-{n}")
    before = policy.rate
    policy.missed("conversation-3")
    assert policy.rate > before
    after_one = policy.rate
    policy.missed("conversation-3")
    assert policy.rate == after_one


def test_only_recent_drops_are_remembered() -> None:
    policy = HoldPolicy()
    for n in range(1000):
        policy.dropped(f"conversation-{n}")
    before = policy.rate
    policy.missed("conversation-0")
    assert policy.rate == before


def test_a_request_for_a_prefix_of_a_dropped_conversation_counts_as_a_claim() -> None:
    policy = HoldPolicy()
    policy.dropped("examples+question-1+answer", ["examples"])
    policy.missed("examples")
    assert policy.worth_holding
