"""The contract every kerasadv attack keeps, published: check your own attack class against it.

Like scikit-learn's `check_estimator` / `parametrize_with_checks`, and the checks kerasadv's
own test suite runs over every registered attack:

    from kerasadv.testing import check_attack, parametrize_with_checks

    check_attack(MyAttack(eps=0.03, seed=0))   # raises AttackContractError naming the failed check

    @parametrize_with_checks([MyAttack(eps=0.03, seed=0)])
    def test_my_attack(attack, check):         # one pytest case per check
        check(attack)
"""

from kerasadv.testing.attack_checks import (
    CHECKS,
    attack_checks,
    check_adversarial_images,
    check_attack,
    check_config_round_trip,
    check_deterministic_under_seed,
    check_empty_batch,
    check_traceable,
    contract_bench,
    parametrize_with_checks,
)

__all__ = [
    "CHECKS",
    "attack_checks",
    "check_attack",
    "check_adversarial_images",
    "check_config_round_trip",
    "check_deterministic_under_seed",
    "check_empty_batch",
    "check_traceable",
    "contract_bench",
    "parametrize_with_checks",
]
