"""Consent: no contact data of a customer who did not consent leaves in any export (property test)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custlens.ingest import import_file
from custlens.playbook import export_campaign, load_playbook
from custlens.privacy import audit, contact_list, init_workspace

CONSENT = st.sampled_from([True, False, None])


def _text(v: bool | None) -> str:
    return "" if v is None else str(v).lower()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(CONSENT, CONSENT), min_size=1, max_size=8))
def test_no_contact_data_of_a_non_consenting_customer_leaves(consents: list[tuple[bool | None, bool | None]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        ids = [f"k{i}" for i in range(len(consents))]
        customers = ["customer_id,customer_type,consent_marketing,consent_profiling"]
        identity = ["customer_id,name,phone,email,address"]
        for cid, (marketing, profiling) in zip(ids, consents):
            customers.append(f"{cid},personal,{_text(marketing)},{_text(profiling)}")
            identity.append(f"{cid},Name-{cid}-ZQX,+86 139 {cid}ZQX,{cid}.zqx@example.com,Street {cid}-ZQX")
        (d / "customers.csv").write_text("\n".join(customers) + "\n", encoding="utf-8")
        (d / "identity.csv").write_text("\n".join(identity) + "\n", encoding="utf-8")
        with init_workspace(d / "ws", key_file=d / "ws.key") as ws:
            import_file(ws, d / "customers.csv", table="customers")
            import_file(ws, d / "identity.csv", table="identity")
            out = d / "campaign.csv"
            assignments = {"customer_id": ids, "segment": ["champions"] * len(ids)}
            export_campaign(
                assignments,
                load_playbook(),
                out,
                scheme="rfm",
                workspace=ws,
                contact_fields=("name", "phone", "email"),
                purpose="property test",
            )
            text = out.read_text(encoding="utf-8-sig")
            listed = contact_list(ws, ids, ("name", "phone", "email", "address"))
            assert listed.column("customer_id").to_pylist() == ids
            for i, (cid, (marketing, profiling)) in enumerate(zip(ids, consents)):
                mine = (f"Name-{cid}-ZQX", f"{cid}ZQX", f"{cid}.zqx@example.com", f"Street {cid}-ZQX")
                values = [listed.column(f)[i].as_py() for f in ("name", "phone", "email", "address")]
                if marketing is True:
                    assert values[0] == mine[0]
                    assert (f"Name-{cid}-ZQX" in text) == (profiling is not False)
                else:
                    assert values == [None, None, None, None]
                    assert not any(m in text for m in mine), f"{cid} did not consent but its contact data was exported"
                if profiling is False:
                    assert f"{cid}," not in text and f'"{cid}"' not in text
            assert "Street" not in text  # the address was not asked for
            assert [e["action"] for e in audit.show(ws, action="export")] == ["export"]
