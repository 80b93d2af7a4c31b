package calc

// Docs describes every calculation, in the order help lists them.
var Docs = []Doc{
	{Name: "dose", Example: "thecal calc dose --concentration 10mg/mL --rate 0.5mL/day", New: func() Calculation { return new(DoseInput) }, Library: true, Summary: "daily dose ⇄ pump rate at a concentration", About: `  dose per day = rate (mL/day) × concentration
  rate         = dose per day ÷ concentration

Give the concentration and either the rate or the dose. The result is shown per
day and per hour, in mL and in both mg and mcg, with the drug in one pump stroke.`},
	{Name: "priming", Example: "thecal calc priming --catheter-length 50cm", New: func() Calculation { return new(PrimingInput) }, Summary: "priming bolus after implant or catheter revision", About: `  priming volume = pump tubing volume + catheter volume
  catheter volume = length × volume per cm

The priming bolus fills the pump tubing (0.25 mL) and the catheter, at the pump's
maximum rate. The catheter is bounded (at most 200 cm and 0.01 mL per cm), so no
priming bolus is larger than 2.25 mL.`},
	{Name: "bridge", Example: "thecal calc bridge --old-rate 0.5mL/day --catheter-length 50cm --start 2026-01-05T08:00:00Z", New: func() Calculation { return new(BridgeInput) }, Summary: "bridge after a refill that changes concentration", About: `  bridge volume = pump tubing volume + catheter volume
  duration      = bridge volume ÷ old rate
  new drug at the catheter tip = start + duration

After a refill with another concentration, the old drug still fills the tubing
and catheter. The bridge delivers it at the old program's rate; when it is out,
the new drug is at the catheter tip and the new program starts.`},
	{Name: "refill", Example: "thecal calc refill --reservoir 20mL --last-fill 20mL --rate 0.5mL/day --since 30d --withdrawn 4.1mL", New: func() Calculation { return new(RefillInput) }, Summary: "refill accounting: expected residual and discrepancy", About: `  programmed  = rate × time since the last refill (+ boluses the pump reports)
  expected    = volume after the last refill − programmed
  discrepancy = withdrawn − expected

A discrepancy beyond ±1.0 mL (TP-20, 20 mL reservoir) or ±2.0 mL (TP-40, 40 mL)
is flagged: less than expected suggests a pocket fill at the last refill or a pump
delivering too much; more than expected suggests a catheter problem (occlusion)
or a pump delivering too little. The expected residual never goes below 0.5 mL,
where the pump stops: if the program would have gone there, the pump ran empty.`},
	{Name: "next-refill", Example: "thecal calc next-refill --reservoir 20mL --volume 20mL --rate 0.5mL/day --bolus-volume 0.02mL --lockout 4h --max-per-24h 4 --drug morphine --filled 2026-01-05T08:00:00Z", New: func() Calculation { return new(NextRefillInput) }, Library: true, Summary: "next refill date: low-reservoir alarm, drug stability, safety margin", About: `  daily use     = basal rate + every allowed patient bolus (at most max-per-24h,
                  and at most one per lockout), capped at max_24h
  low alarm     = fill time + (volume − low-reservoir threshold) ÷ daily use
  stability     = fill time + the drug's longest time between refills
  refill due    = the earlier of the two − safety margin (default 7 days)

The drug's stability limit comes from the drug library (--drug), or --stability.`},
	{Name: "battery", Example: "thecal calc battery --battery 1000000uAh --rate 0.5mL/day --at 2026-01-05T08:00:00Z", New: func() Calculation { return new(BatteryInput) }, Summary: "ERI, end-of-service and replacement planning dates", About: `  drain per day = 12 µA quiescent (288 µAh) + 0.1 µAh per stroke (rate ÷ 0.5 µL)
                  + 5 mA radio while a session is open
  ERI threshold = reserve (1% of 1,000,000 µAh) + what 90 days at this program
                  need, the ERI alarm's own hourly 5 µAh tones included
  ERI           = when the remaining charge falls to the ERI threshold
  EOS           = when it falls to the reserve (90 days after ERI at this program)
  plan replacement from 6 months to 3 months before EOS

Both dates are computed twice, by a closed form and by stepping through the days;
the result is shown only when the two agree within a minute (hazard H6).`},
	{Name: "screening", Example: "thecal calc screening --start 2026-01-05T08:00:00Z --result 50mcg:none --result 75mcg:10h", New: func() Calculation { return new(ScreeningInput) }, Library: true, Summary: "baclofen screening protocol and starting dose", About: `Baclofen screening (Lioresal Intrathecal / Gablofen labels, from the drug library):
a 50 mcg bolus (1 mL of 50 mcg/mL) over at least 1 minute, observed 4 to 8 h; if
no response, 75 mcg 24 h later; then 100 mcg. No response to 100 mcg: not a
candidate.

  starting daily dose = 2 × the effective screening dose, over 24 h
                        (1 × if its effect lasted more than 8 h)

Without --result it shows the protocol; give each bolus's result in order.`},
	{Name: "titration", Example: "thecal calc titration --drug ziconotide --start 2.4mcg/day --target 19.2mcg/day --concentration 25mcg/mL --from 2026-01-05T08:00:00Z", New: func() Calculation { return new(TitrationInput) }, Library: true, Summary: "titration plan obeying the library's titration rule", Refuses: true, About: `Plans the earliest titration from a starting dose to a target that obeys the
drug library's titration rule: each increase at most the largest step, at least
the shortest interval after the last change, never more than the most increases
in any 7 days. Where the library has a soft and a hard bound the plan keeps to the
stricter. You may tighten any part (--step, --interval, --per-week), never loosen
it. Every step is checked against the library.

Ziconotide (from the library): start at most 2.4 mcg/day, steps of at most
2.4 mcg/day, 48 h apart (EU SmPC recommendation; 24 h at least), at most 3 a week
(US label), to 19.2 mcg/day (0.8 mcg/h) by day 21.`},
	{Name: "opioid", Example: "thecal calc opioid --oral 60mg/day", New: func() Calculation { return new(OpioidInput) }, Library: true, Summary: "oral morphine → intrathecal morphine, as a suggestion", About: `  intrathecal = oral ÷ 300 (the often-quoted ratio: 10 mg IV = 1 mg epidural =
                0.1 mg intrathecal, with oral : IV = 3 : 1)
  range       = oral ÷ 300 to oral ÷ 10 (published ratios run from 10:1 to 300:1)

A SUGGESTION ONLY, never a limit: the published ratios differ thirty-fold. The
prescription is checked against the drug library like any other.`},
	{Name: "trial", Example: "thecal calc trial --baseline 8 --trial 3 --functional yes", New: func() Calculation { return new(TrialInput) }, Summary: "screening trial evaluation against the clinic's success threshold", About: `  reduction = (baseline score − trial score) ÷ baseline score

A trial succeeds when the reduction reaches the clinic's threshold (default 50%,
as in payer policies for implantable infusion pumps) and functional improvement
is recorded. Scores are numbers on the scale given (default 0 to 10).`},
	{Name: "check", Example: "thecal calc check --drug ziconotide --concentration 25mcg/mL --dose 4.8mcg/day --at 2026-01-07T08:00:00Z --prev 30h=2.4mcg/day", New: func() Calculation { return new(CheckInput) }, Library: true, Summary: "check a prescription against the drug library", Refuses: true, About: `Checks a drug, concentration and daily dose against the drug library and the
prescription history, and lists every finding: a hard limit (refused), a soft
limit (needs a stated reason), a titration breach (step too large, too soon, too
many this week), a first dose outside the starting range, a drug not labelled for
intrathecal pump use, a concentration the library does not allow, and stopping, cutting or
minimising a drug whose withdrawal is dangerous. A limit the library leaves
empty is not a finding: 'calc library' lists it, once. A stated reason is
specific: at least 10 characters, not the finding's own words.`},
	{Name: "library", Example: "thecal calc library --drug ziconotide", New: func() Calculation { return new(LibraryInput) }, Library: true, Summary: "validate and show a drug library with the source of every number", About: `Reads a drug library file (or the built-in one), refuses it with every problem
and its field if anything is wrong, and otherwise shows its version and each
drug's units, limits and rules, every number with its source, and what it
leaves empty for the clinic to set.`},
}
