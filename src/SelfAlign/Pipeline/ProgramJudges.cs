using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Data;

namespace SelfAlign.Pipeline;

/// <summary>An external judge program failed: it did not start, exited with an error or wrote something other than one score per line.</summary>
public sealed class JudgeCommandException(string message) : Exception(message);

/// <summary>One candidate as a program judge sees it.</summary>
/// <param name="PromptId">The prompt's id.</param>
/// <param name="Sample">The candidate's sample index.</param>
/// <param name="Instruction">The instruction.</param>
/// <param name="Response">The candidate response.</param>
public sealed record ProgramItem(string PromptId, int Sample, string Instruction, string Response);

/// <summary>A judge that is a program rather than the model: a verifier, a rule-based checker, an external command.</summary>
public interface IProgramJudge
{
    /// <summary>The judge's name in judgment rows.</summary>
    string Name { get; }

    /// <summary>A score per item, higher is better.</summary>
    IReadOnlyList<double> Score(IReadOnlyList<ProgramItem> items);
}

/// <summary>
/// Scores 1 when the task's check accepts the response and 0 when not: the oracle reward of a
/// task world, or reference answers a user brings. Tasks are found by the candidate's prompt id.
/// </summary>
public sealed class VerifierJudge(IReadOnlyDictionary<string, VerifiedTask> tasks, string source) : IProgramJudge
{
    /// <summary>A verifier over the tasks of a task file.</summary>
    public static VerifierJudge Load(string file) => new(VerifiedTask.ReadFile(file).ToDictionary(t => t.Id), file);

    /// <inheritdoc />
    public string Name => "verifier";

    /// <summary>True when every prompt id has a task, else the first that has none.</summary>
    public string? Missing(IEnumerable<string> promptIds) => promptIds.FirstOrDefault(id => !tasks.ContainsKey(id));

    /// <inheritdoc />
    public IReadOnlyList<double> Score(IReadOnlyList<ProgramItem> items) => items.Select(i =>
        tasks.TryGetValue(i.PromptId, out var task) ? (task.Check.Accepts(i.Response) ? 1.0 : 0.0)
            : throw new ArgumentException($"{source} has no task with id '{i.PromptId}'")).ToArray();
}

/// <summary>
/// An external program as the judge: it is started once per batch, reads one JSON object per
/// line on standard input (<c>prompt_id</c>, <c>sample</c>, <c>instruction</c>, <c>response</c>)
/// and writes one per line on standard output, in the same order, each with a numeric
/// <c>score</c>. A non-zero exit, a missing line or a bad score stops the stage with the
/// program's own message.
/// </summary>
public sealed class CommandJudge(IReadOnlyList<string> command) : IProgramJudge
{
    /// <inheritdoc />
    public string Name => "command";

    /// <inheritdoc />
    public IReadOnlyList<double> Score(IReadOnlyList<ProgramItem> items)
    {
        var start = new ProcessStartInfo(command[0])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var arg in command.Skip(1)) start.ArgumentList.Add(arg);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new JudgeCommandException($"could not start judge command '{command[0]}'");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new JudgeCommandException($"could not start judge command '{command[0]}': {e.Message}");
        }
        using var owned = process;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        // Written while the outputs drain, so a program that answers as it reads never blocks.
        foreach (var item in items)
            process.StandardInput.WriteLine(new JsonObject
            {
                ["prompt_id"] = item.PromptId, ["sample"] = item.Sample, ["instruction"] = item.Instruction, ["response"] = item.Response,
            }.ToJsonString());
        process.StandardInput.Close();
        process.WaitForExit();
        string name = string.Join(' ', command);
        if (process.ExitCode != 0)
            throw new JudgeCommandException($"judge command '{name}' exited with code {process.ExitCode}: {error.Result.Trim().Split('\n').LastOrDefault()}");
        var lines = output.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length != items.Count)
            throw new JudgeCommandException($"judge command '{name}' wrote {lines.Length} lines for {items.Count} candidates; it must write one per input line");
        return lines.Select((line, i) =>
        {
            try
            {
                return JsonNode.Parse(line)?["score"] is JsonValue v && v.TryGetValue(out double score) && double.IsFinite(score) ? score
                    : throw new JudgeCommandException($"judge command '{name}', output line {i + 1}: needs a numeric 'score'");
            }
            catch (JsonException)
            {
                throw new JudgeCommandException($"judge command '{name}', output line {i + 1}: not JSON");
            }
        }).ToArray();
    }
}
