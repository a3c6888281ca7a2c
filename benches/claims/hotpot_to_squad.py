"""Other claims for `cargo bench --bench claims`: HotpotQA articles (other
subjects, other sentence shapes) in SQuAD's format, each sentence with a
number or a name a cloze question whose answer is that number or name.

    python3 benches/claims/hotpot_to_squad.py HOTPOT.json OUT.json
    SLEUTH_SQUAD=OUT.json cargo bench --bench claims
"""
import json, re, sys
d = json.load(open(sys.argv[1]))
arts = {}
for x in d:
    for title, sents in x['context']:
        arts[title] = sents
data = []
for title, sents in sorted(arts.items()):
    ctx = "".join(sents).strip()
    qas = []
    for s in sents:
        s = s.strip()
        m = re.search(r'\b(1[0-9]{3}|20[0-9]{2}|[0-9][0-9,]*)\b', s)
        if not m:
            m = re.search(r'(?<=\s)([A-Z][a-z]+(?: [A-Z][a-z]+)?)', s)
        if not m or len(s.split()) < 8:
            continue
        ans = m.group(1)
        start = ctx.find(s)
        if start < 0: continue
        q = s.replace(ans, "what", 1)
        qas.append({"question": title + ": " + q, "id": str(len(qas)), "is_impossible": False,
                    "answers": [{"text": ans, "answer_start": start + s.find(ans)}]})
    if qas:
        data.append({"title": title, "paragraphs": [{"context": ctx, "qas": qas}]})
json.dump({"version": "v2.0", "data": data}, open(sys.argv[2], 'w'))
print(len(data), sum(len(a["paragraphs"][0]["qas"]) for a in data))
