namespace SelfAlign.Judging;

/// <summary>How a tie between chosen and rejected counts.</summary>
public enum TieRule
{
    /// <summary>Half a win (RewardBench's convention for generative judges).</summary>
    Half,
    /// <summary>A loss (the IPO authors' code: only a strictly higher score counts).</summary>
    Wrong,
}

/// <summary>The outcome of one chosen-vs-rejected comparison.</summary>
public static class Outcome
{
    /// <summary>1 when chosen scores higher, 0 when lower, and the tie rule's value when equal.</summary>
    public static double Of(double chosen, double rejected, TieRule ties) =>
        chosen > rejected ? 1 : chosen < rejected ? 0 : ties == TieRule.Half ? 0.5 : 0;
}
