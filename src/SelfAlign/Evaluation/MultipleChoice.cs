using System.Text.Json;
using SelfAlign.Data;
using SelfAlign.Inference;
using SelfAlign.Text;

namespace SelfAlign.Evaluation;

/// <summary>A multiple-choice question: the context, its choices and the index of the right one.</summary>
/// <param name="Id">The row's id.</param>
/// <param name="Context">The text the choices continue (the question with its framing, e.g. "Question: ...\nAnswer:").</param>
/// <param name="Choices">The choices, each scored as the delimiter followed by it.</param>
/// <param name="Answer">The index of the right choice.</param>
/// <param name="Category">A group to report separately (a subject, a task), or null.</param>
public sealed record ChoiceItem(string Id, string Context, IReadOnlyList<string> Choices, int Answer, string? Category);

/// <summary>A scored question: each choice's log-likelihood after the context.</summary>
/// <param name="Item">The question.</param>
/// <param name="LogProbs">The sum of each choice's token log-probabilities.</param>
public sealed record ChoiceResult(ChoiceItem Item, IReadOnlyList<double> LogProbs)
{
    /// <summary>The choice of highest log-likelihood (the first on a tie): <c>acc</c>.</summary>
    public int Predicted => ArgMax(LogProbs);

    /// <summary>The choice of highest log-likelihood per character of the choice: <c>acc_norm</c>.</summary>
    public int PredictedNormalized => ArgMax([.. LogProbs.Select((lp, i) => lp / Item.Choices[i].Length)]);

    static int ArgMax(IReadOnlyList<double> values)
    {
        int best = 0;
        for (int i = 1; i < values.Count; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }
}

/// <summary>
/// Log-likelihood multiple choice as lm-evaluation-harness scores it: each choice is the
/// continuation <c>delimiter + choice</c> of the context, its log-likelihood is the sum over its
/// tokens, <c>acc</c> takes the most likely choice and <c>acc_norm</c> the most likely per
/// character of the choice (the delimiter not counted). Tokens are split as the harness splits
/// them: the context's trailing whitespace moves to the continuation, the whole text is encoded without
/// special tokens, and the continuation is what follows the context's own tokens.
/// </summary>
public static class MultipleChoice
{
    /// <summary>Reads rows <c>{"id", "context", "choices": [...], "answer": index}</c> (optional <c>category</c>), checking each.</summary>
    public static List<ChoiceItem> Read(string file)
    {
        var items = new List<ChoiceItem>();
        var seen = new Dictionary<string, int>();
        foreach (var row in Jsonl.Read(file))
        {
            string id = RowFields.Id(row.Element, file, row.Line);
            RowFields.Unique(seen, id, file, row.Line);
            var choices = row.Field("choices");
            if (choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() < 2 ||
                choices.EnumerateArray().Any(c => c.ValueKind != JsonValueKind.String || c.GetString()!.Length == 0))
                throw row.Error("'choices' must be a list of at least two non-empty strings");
            int answer = row.Int("answer");
            if (answer < 0 || answer >= choices.GetArrayLength()) throw row.Error($"'answer' {answer} is not the index of one of the {choices.GetArrayLength()} choices");
            string context = row.String("context");
            if (context.Length == 0) throw row.Error("'context' is empty");
            items.Add(new ChoiceItem(id, context, [.. choices.EnumerateArray().Select(c => c.GetString()!)], answer,
                row.Has("category") ? row.String("category") : null));
        }
        if (items.Count == 0) throw new DataFormatException(file, 1, "no questions");
        return items;
    }

    /// <summary>The context and continuation tokens of one choice, split as lm-evaluation-harness splits them.</summary>
    public static (List<int> Context, List<int> Continuation) Encode(Tokenizer tokenizer, string context, string continuation)
    {
        int kept = context.TrimEnd().Length;
        (context, continuation) = (context[..kept], context[kept..] + continuation);
        var whole = tokenizer.Encode(context + continuation);
        var head = tokenizer.Encode(context);
        return (head, whole[head.Count..]);
    }

    /// <summary>Scores every choice of every item with <paramref name="model"/>.</summary>
    public static List<ChoiceResult> Score(ILanguageModel model, IReadOnlyList<ChoiceItem> items, string delimiter = " ", Action<int>? onProgress = null)
    {
        var pairs = items.SelectMany(it => it.Choices.Select(c =>
        {
            var (context, continuation) = Encode(model.Tokenizer, it.Context, delimiter + c);
            return ((IReadOnlyList<int>)context, (IReadOnlyList<int>)continuation);
        })).ToList();
        var logProbs = model.CompletionLogProbs(pairs, onProgress);
        var results = new List<ChoiceResult>();
        int at = 0;
        foreach (var it in items)
        {
            results.Add(new ChoiceResult(it, [.. logProbs.Skip(at).Take(it.Choices.Count)]));
            at += it.Choices.Count;
        }
        return results;
    }
}
