"""Every Cypher statement of the episodic store, as constants; values arrive as parameters.

No statement is built from strings at run time; labels and relation types are fixed here, and
text, ids and times travel in ``$parameters`` (FalkorDB's ``CYPHER name=value`` protocol, which
the client escapes). ``_text.encode_text`` removes the two things that protocol cannot carry.
"""

from __future__ import annotations

INDEXES = (
    "CREATE INDEX FOR (e:Episode) ON (e.key)",
    "CREATE INDEX FOR (e:Episode) ON (e.ts)",
    "CREATE INDEX FOR (s:Stimulus) ON (s.key)",
    "CREATE INDEX FOR (r:Response) ON (r.key)",
    "CREATE INDEX FOR (h:Hypothesis) ON (h.key)",
)

# FalkorDB's range index on a boolean answers nothing once the graph is loaded from an RDB image
# (the AOF's base after a rewrite, ADR 0007): `e.consolidated = false` found 0 of 10,000
# unconsolidated episodes. A two-valued property gains little from an index anyway, so homes
# made before this drop it and the statements below filter on the property's truth instead.
DROP_INDEXES = ("DROP INDEX FOR (e:Episode) ON (e.consolidated)",)

RECORD = """
UNWIND $rows AS row
MERGE (e:Episode {key: row.key})
ON CREATE SET e.id = row.id, e.ts = row.ts, e.confirmed = row.confirmed,
              e.confidence = row.confidence, e.consolidated = false
MERGE (s:Stimulus {key: row.skey}) ON CREATE SET s.text = row.stext
MERGE (r:Response {key: row.rkey}) ON CREATE SET r.text = row.rtext
MERGE (s)-[:TRIGGERED]->(e)
MERGE (e)-[:RESPONDED]->(r)
"""

RECORD_HYPOTHESES = """
UNWIND $rows AS row
MATCH (e:Episode {key: row.ekey})
MERGE (h:Hypothesis {key: row.hkey}) ON CREATE SET h.text = row.htext
MERGE (h)-[:EXPLAINS]->(e)
"""

PREDECESSOR = """
MATCH (p:Episode) WHERE p.ts <= $ts AND p.ts >= $since AND NOT p.key IN $keys
RETURN p.key ORDER BY p.ts DESC, p.key DESC LIMIT 1
"""

LINK_NEXT = """
UNWIND $pairs AS pair
MATCH (a:Episode {key: pair.a}), (b:Episode {key: pair.b})
MERGE (a)-[:NEXT]->(b)
"""

_RETURN_EPISODE = """
OPTIONAL MATCH (h:Hypothesis)-[:EXPLAINS]->(e)
RETURN e.id, e.ts, s.text, s.key, r.text, r.key, e.confirmed, e.confidence,
       collect(h.text), e.consolidated
"""

RECENT = (
    "MATCH (s:Stimulus)-[:TRIGGERED]->(e:Episode)-[:RESPONDED]->(r:Response)"
    " WITH s, e, r ORDER BY e.ts DESC, e.id DESC LIMIT $n" + _RETURN_EPISODE
)

BETWEEN = (
    "MATCH (s:Stimulus)-[:TRIGGERED]->(e:Episode)-[:RESPONDED]->(r:Response)"
    " WHERE e.ts >= $start AND e.ts < $end" + _RETURN_EPISODE
)

BY_IDS = (
    "UNWIND $keys AS k MATCH (s:Stimulus)-[:TRIGGERED]->(e:Episode {key: k})"
    "-[:RESPONDED]->(r:Response)" + _RETURN_EPISODE
)

BY_STIMULUS_KEYS = (
    "UNWIND $keys AS k MATCH (s:Stimulus {key: k}) WITH s MATCH (s)-[:TRIGGERED]->(e:Episode)"
    "-[:RESPONDED]->(r:Response) WITH s, e, r ORDER BY e.ts DESC LIMIT $n" + _RETURN_EPISODE
)

PENDING = """
MATCH (s:Stimulus)-[:TRIGGERED]->(e:Episode)
WHERE NOT e.consolidated AND e.ts <= $cutoff
RETURN e.id, s.key ORDER BY e.ts, e.key
"""

MARK_CONSOLIDATED = """
UNWIND $keys AS k
MATCH (e:Episode {key: k})
SET e.consolidated = true
"""

CONFIRMATIONS = """
UNWIND $keys AS k
MATCH (s:Stimulus {key: k})
WITH s
MATCH (s)-[:TRIGGERED]->(e:Episode)
WHERE e.confirmed = true
MATCH (e)-[:RESPONDED]->(r:Response)
RETURN s.key, r.key, s.text, r.text, count(e)
"""

COUNT = "MATCH (e:Episode) RETURN count(e)"
COUNT_CONSOLIDATED = "MATCH (e:Episode) WHERE e.consolidated RETURN count(e)"

# Neighbours: one pair of statements (outgoing, incoming) per label: labels cannot be parameters.
_NB_RETURN = " RETURN labels(m)[0], coalesce(m.id, m.key), type(rel), m.text LIMIT $n"
NEIGHBOURS: dict[str, tuple[str, str]] = {
    "Episode": (
        "MATCH (n:Episode {key: $key})-[rel]->(m)" + _NB_RETURN,
        "MATCH (n:Episode {key: $key})<-[rel]-(m)" + _NB_RETURN,
    ),
    "Stimulus": (
        "MATCH (n:Stimulus {key: $key})-[rel]->(m)" + _NB_RETURN,
        "MATCH (n:Stimulus {key: $key})<-[rel]-(m)" + _NB_RETURN,
    ),
    "Response": (
        "MATCH (n:Response {key: $key})-[rel]->(m)" + _NB_RETURN,
        "MATCH (n:Response {key: $key})<-[rel]-(m)" + _NB_RETURN,
    ),
    "Hypothesis": (
        "MATCH (n:Hypothesis {key: $key})-[rel]->(m)" + _NB_RETURN,
        "MATCH (n:Hypothesis {key: $key})<-[rel]-(m)" + _NB_RETURN,
    ),
}
