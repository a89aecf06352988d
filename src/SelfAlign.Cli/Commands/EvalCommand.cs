using System.CommandLine;
using SelfAlign.Evaluation;
using SelfAlign.Judging;
using SelfAlign.Pipeline;
using SelfAlign.Text;
using Spectre.Console;

namespace SelfAlign.Cli.Commands;

/// <summary><c>selfalign eval</c>: policy evaluations.</summary>
internal static class EvalCommand
{
    public static Command Create() => new("eval", "Evaluate a policy: IFEval, BBH, head to head against another policy or reference answers, graded on MT-Bench, " +
        "or on multiple-choice questions.")
    {
        IfEval(),
        Bbh(),
        WinRate(),
        MtBench(),
        Choice(),
    };

    static Command IfEval()
    {
        var model = new Option<DirectoryInfo?>("--model") { Description = "The policy's model folder: it answers every prompt (greedy)." };
        var responses = new Option<FileInfo?>("--responses") { Description = "Instead of --model: score these responses, JSONL of {\"prompt\", \"response\"} (the reference's input)." };
        var data = new Option<FileInfo?>("--data") { Description = "IFEval input data (key, prompt, instruction_id_list, kwargs); default: the shipped 541 prompts." };
        var output = new Option<DirectoryInfo>("--out") { Description = "Run folder: eval_results_strict.jsonl, eval_results_loose.jsonl, results.json, report.md.", Required = true };
        var limit = new Option<int>("--limit") { Description = "The first N prompts (0: all).", DefaultValueFactory = _ => 0 };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Most tokens per response (lm-evaluation-harness: 1280).", DefaultValueFactory = _ => 1280 };
        var longPrompts = CliOptions.LongPrompts();
        var templateArgs = CliOptions.TemplateArgs();
        var dtype = CliOptions.DType("Compute dtype: auto, bf16, f32 or f16.");
        var overwrite = CliOptions.Overwrite();
        var engine = new EngineCliOptions();
        var command = new Command("ifeval", "IFEval as Google's reference scores it: the 25 verifiable instruction types checked strict and loose; " +
            "prompt- and instruction-level accuracy, their mean, and accuracy per instruction type. Resumable: run it again to continue.")
        {
            model, responses, data, output, limit, maxNew, longPrompts, templateArgs, dtype, overwrite,
        };
        foreach (var option in engine.All) command.Options.Add(option);
        command.SetAction(parse =>
        {
            CliOptions.Apply(parse);
            var job = new IfEvalJob(parse.GetRequiredValue(output).FullName, parse.GetValue(model)?.FullName, parse.GetValue(responses)?.FullName,
                parse.GetValue(data)?.FullName, parse.GetValue(limit), parse.GetValue(maxNew), CliOptions.ParseDType(parse.GetValue(dtype)!),
                CliOptions.ParseTemplateArgs(parse.GetValue(templateArgs)), CliOptions.ParseLongPrompts(parse.GetValue(longPrompts)!), parse.GetValue(overwrite),
                engine.Parse(parse));
            var scores = CliProgress.Run(progress => IfEvalStage.Run(job, progress));
            var table = new Table().Border(TableBorder.Rounded).AddColumn("accuracy").AddColumn("strict %").AddColumn("loose %");
            table.AddRow("prompt level", $"{100 * scores.Strict.PromptLevel:F1}", $"{100 * scores.Loose.PromptLevel:F1}");
            table.AddRow("instruction level", $"{100 * scores.Strict.InstructionLevel:F1}", $"{100 * scores.Loose.InstructionLevel:F1}");
            var console = CliConsole.Out();
            console.Write(table);
            console.MarkupLine($"mean of the four: [bold]{100 * scores.Mean:F1}%[/] on {scores.Strict.Prompts} prompts; per instruction type in report.md");
            console.MarkupLine($"wrote [bold]{Markup.Escape(job.Output)}[/]");
            return 0;
        });
        return command;
    }

    static Command Bbh()
    {
        var model = CliOptions.Model("The policy's model folder.");
        var data = new Option<DirectoryInfo?>("--data") { Description = "A folder of BBH task files with lm_eval_zeroshot.json; default: the shipped 27 tasks." };
        var tasks = new Option<string[]>("--task") { Description = "A task to run (repeatable; default: all 27), e.g. boolean_expressions." };
        var output = new Option<DirectoryInfo>("--out") { Description = "Run folder: responses.jsonl, items.jsonl, results.json, report.md.", Required = true };
        var limit = new Option<int>("--limit") { Description = "The first N questions of each task (0: all).", DefaultValueFactory = _ => 0 };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Most tokens per answer (lm-evaluation-harness: 256).", DefaultValueFactory = _ => 256 };
        var chat = new Option<bool>("--chat-template") { Description = "Put each prompt in a user turn of the model's chat template (default: the raw prompt, as the harness)." };
        var longPrompts = CliOptions.LongPrompts();
        var templateArgs = CliOptions.TemplateArgs();
        var dtype = CliOptions.DType("Compute dtype: auto, bf16, f32 or f16.");
        var overwrite = CliOptions.Overwrite();
        var engine = new EngineCliOptions();
        var command = new Command("bbh", "BIG-Bench Hard zero-shot as lm-evaluation-harness runs it: greedy answers to \"Q: ...\\nA:\", exact match of the " +
            "raw answer (strict-match) and of the answer each task's filter extracts (flexible-extract), per task and overall. Resumable: run it again to continue.")
        {
            model, data, tasks, output, limit, maxNew, chat, longPrompts, templateArgs, dtype, overwrite,
        };
        foreach (var option in engine.All) command.Options.Add(option);
        command.SetAction(parse =>
        {
            CliOptions.Apply(parse);
            var job = new BbhJob(parse.GetRequiredValue(model).FullName, parse.GetRequiredValue(output).FullName, parse.GetValue(data)?.FullName,
                parse.GetValue(tasks) ?? [], parse.GetValue(limit), parse.GetValue(maxNew), parse.GetValue(chat), CliOptions.ParseDType(parse.GetValue(dtype)!),
                CliOptions.ParseTemplateArgs(parse.GetValue(templateArgs)), CliOptions.ParseLongPrompts(parse.GetValue(longPrompts)!), parse.GetValue(overwrite),
                engine.Parse(parse));
            var accuracy = CliProgress.Run(progress => BbhStage.Run(job, progress));
            var table = new Table().Border(TableBorder.Rounded).AddColumn("task").AddColumn("questions").AddColumn("flexible-extract %").AddColumn("strict-match %");
            foreach (var a in accuracy) table.AddRow(Markup.Escape(a.Task), a.Count.ToString(), $"{100 * a.Flexible:F1}", $"{100 * a.Strict:F1}");
            var console = CliConsole.Out();
            console.Write(table);
            console.MarkupLine($"wrote [bold]{Markup.Escape(job.Output)}[/]");
            return 0;
        });
        return command;
    }

    static Command Choice()
    {
        var model = CliOptions.Model("The model folder.");
        var data = new Option<FileInfo>("--data")
        {
            Description = "Questions JSONL: {\"id\", \"context\", \"choices\": [...], \"answer\": index, \"category\"?}.",
            Required = true,
        };
        var output = new Option<DirectoryInfo>("--out") { Description = "Run folder: items.jsonl, results.json, report.md.", Required = true };
        var delimiter = new Option<string>("--delimiter") { Description = "What joins the context and each choice.", DefaultValueFactory = _ => " " };
        var limit = new Option<int>("--limit") { Description = "The first N questions (0: all).", DefaultValueFactory = _ => 0 };
        var dtype = CliOptions.DType("Compute dtype: auto, bf16, f32 or f16.");
        var overwrite = CliOptions.Overwrite();
        var engine = new EngineCliOptions();
        var command = new Command("choice", "Log-likelihood multiple choice as lm-evaluation-harness scores it: acc (the most likely choice) and " +
            "acc_norm (the most likely per character), overall and per category. Resumable: run it again to continue.")
        {
            model, data, output, delimiter, limit, dtype, overwrite,
        };
        foreach (var option in engine.All) command.Options.Add(option);
        command.SetAction(parse =>
        {
            CliOptions.Apply(parse);
            var job = new ChoiceJob(parse.GetRequiredValue(model).FullName, parse.GetRequiredValue(data).FullName, parse.GetRequiredValue(output).FullName,
                parse.GetValue(delimiter)!, parse.GetValue(limit), CliOptions.ParseDType(parse.GetValue(dtype)!), parse.GetValue(overwrite), engine.Parse(parse));
            var accuracy = CliProgress.Run(progress => ChoiceStage.Run(job, progress));
            var table = new Table().Border(TableBorder.Rounded).AddColumn("part").AddColumn("questions").AddColumn("acc %").AddColumn("acc_norm %");
            foreach (var a in accuracy) table.AddRow(Markup.Escape(a.Name), a.Count.ToString(), $"{100 * a.Acc:F1}", $"{100 * a.AccNorm:F1}");
            var console = CliConsole.Out();
            console.Write(table);
            console.MarkupLine($"wrote [bold]{Markup.Escape(job.Output)}[/]");
            return 0;
        });
        return command;
    }

    static Command MtBench()
    {
        var model = CliOptions.Model("The policy's model folder.");
        var data = new Option<DirectoryInfo>("--data")
        {
            Description = "MT-Bench folder: question.jsonl, judge_prompts.jsonl and reference_answer_gpt-4.jsonl (FastChat's files; shipped in data/mt-bench).",
            Required = true,
        };
        var judge = new Option<DirectoryInfo?>("--judge") { Description = "The judge's model folder (default: the policy judges itself)." };
        var output = new Option<DirectoryInfo>("--out") { Description = "Run folder: answers/, judgments.jsonl, scores.jsonl, results.json, report.md.", Required = true };
        var turns = new Option<int>("--turns") { Description = "Turns answered and graded: 1 or 2.", DefaultValueFactory = _ => 2 };
        var limit = new Option<int>("--limit") { Description = "The first N questions (0: all 80).", DefaultValueFactory = _ => 0 };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Most tokens per answer (FastChat: 1024).", DefaultValueFactory = _ => 1024 };
        var judgeMaxNew = new Option<int>("--judge-max-new-tokens") { Description = "Most tokens per judgment (FastChat: 2048).", DefaultValueFactory = _ => 2048 };
        var seed = new Option<ulong>("--seed") { Description = "Sampling seed.", DefaultValueFactory = _ => 0 };
        var templateArgs = CliOptions.TemplateArgs();
        var dtype = CliOptions.DType("Compute dtype: auto, bf16, f32 or f16.");
        var overwrite = CliOptions.Overwrite();
        var engine = new EngineCliOptions();
        var command = new Command("mtbench", "MT-Bench single-answer grading as FastChat does it: the policy answers each question's turns at its " +
            "category's temperature, the judge rates each answer 1 to 10 with FastChat's prompts (math, reasoning and coding against reference answers). " +
            "Resumable: run it again to continue.")
        {
            model, data, judge, output, turns, limit, maxNew, judgeMaxNew, seed, templateArgs, dtype, overwrite,
        };
        foreach (var option in engine.All) command.Options.Add(option);
        command.SetAction(parse =>
        {
            CliOptions.Apply(parse);
            var job = new MtBenchJob(parse.GetRequiredValue(model).FullName, parse.GetRequiredValue(data).FullName, parse.GetRequiredValue(output).FullName,
                parse.GetValue(judge)?.FullName, parse.GetValue(turns), parse.GetValue(limit), parse.GetValue(maxNew), parse.GetValue(judgeMaxNew),
                parse.GetValue(seed), CliOptions.ParseDType(parse.GetValue(dtype)!), CliOptions.ParseTemplateArgs(parse.GetValue(templateArgs)), parse.GetValue(overwrite),
                engine.Parse(parse));
            var scores = CliProgress.Run(progress => MtBenchStage.Run(job, progress));
            var table = new Table().Border(TableBorder.Rounded).AddColumn("part").AddColumn("mean rating").AddColumn("rated").AddColumn("no rating");
            void Row(string name, IEnumerable<MtBenchScore> part)
            {
                var p = SelfAlign.Evaluation.MtBench.Summarize(part);
                table.AddRow(name, p.Mean?.ToString("F2") ?? "n/a", p.Rated.ToString(), p.Failures.ToString());
            }
            Row("overall", scores);
            foreach (var t in scores.GroupBy(s => s.Turn)) Row($"turn {t.Key}", t);
            foreach (var c in scores.GroupBy(s => s.Category).OrderBy(g => g.Key, StringComparer.Ordinal)) Row(c.Key, c);
            var console = CliConsole.Out();
            console.Write(table);
            console.MarkupLine($"wrote [bold]{Markup.Escape(job.Output)}[/]");
            return 0;
        });
        return command;
    }

    static Command WinRate()
    {
        var model = CliOptions.Model("Policy A: the model folder evaluated.");
        var against = new Option<DirectoryInfo?>("--against") { Description = "Policy B: the model folder A is compared with." };
        var referenceField = new Option<string?>("--reference-field") { Description = "Instead of --against: the field of each prompt row holding B's response (e.g. AlpacaEval's 'output')." };
        var judge = new Option<DirectoryInfo?>("--judge") { Description = "The judge's model folder (default: A judges)." };
        var prompts = new Option<FileInfo>("--prompts") { Description = "Prompts JSONL: {\"id\", \"prompt\"} or {\"id\", \"messages\"}.", Required = true };
        var promptField = new Option<string?>("--prompt-field") { Description = "Read each row's prompt text from this field instead (e.g. AlpacaEval's 'instruction')." };
        var output = new Option<DirectoryInfo>("--out") { Description = "Run folder: responses, judgments.jsonl, results.json, report.md.", Required = true };
        var limit = new Option<int>("--limit") { Description = "The first N prompts (0: all).", DefaultValueFactory = _ => 0 };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature of both policies; 0 is greedy.", DefaultValueFactory = _ => 0.0 };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Most tokens per response.", DefaultValueFactory = _ => 512 };
        var seed = new Option<ulong>("--seed") { Description = "Sampling seed.", DefaultValueFactory = _ => 0 };
        var format = new Option<string>("--format") { Description = "The judge's layout: chat (its chat template) or plain.", DefaultValueFactory = _ => "chat" };
        var templateArgs = CliOptions.TemplateArgs();
        var dtype = CliOptions.DType("Compute dtype: auto, bf16, f32 or f16.");
        var overwrite = CliOptions.Overwrite();
        var engine = new EngineCliOptions();
        var command = new Command("winrate", "Head to head: A and B answer every prompt, the judge compares each pair with the pairwise prompt in both " +
            "orders, and a win or loss counts only when both orders agree (else a tie). Prints win / tie / loss with 95% intervals, the win rate " +
            "with ties half, the judge's mean preference, AlpacaEval's length-controlled win rate, and mean lengths. Resumable: run it again to continue.")
        {
            model, against, referenceField, judge, prompts, promptField, output, limit, temperature, maxNew, seed, format, templateArgs, dtype, overwrite,
        };
        foreach (var option in engine.All) command.Options.Add(option);
        command.SetAction(parse =>
        {
            CliOptions.Apply(parse);
            var layout = parse.GetValue(format) switch
            {
                "chat" => JudgeFormat.Chat,
                "plain" => JudgeFormat.Plain,
                var f => throw new UsageException($"--format '{f}': use chat or plain"),
            };
            var job = new WinRateJob(parse.GetRequiredValue(model).FullName, parse.GetRequiredValue(prompts).FullName, parse.GetRequiredValue(output).FullName,
                parse.GetValue(against)?.FullName, parse.GetValue(referenceField), parse.GetValue(judge)?.FullName,
                new SamplingOptions { Temperature = parse.GetValue(temperature), MaxNewTokens = parse.GetValue(maxNew) }, parse.GetValue(seed),
                parse.GetValue(limit), CliOptions.ParseDType(parse.GetValue(dtype)!), CliOptions.ParseTemplateArgs(parse.GetValue(templateArgs)), layout,
                parse.GetValue(overwrite), parse.GetValue(promptField), engine.Parse(parse));
            var h = CliProgress.Run(progress => WinRateStage.Run(job, progress));
            var table = new Table().Border(TableBorder.Rounded).AddColumn("outcome for A").AddColumn("prompts").AddColumn("% [[95% CI]]");
            foreach (var (name, count) in new[] { ("win", h.Wins), ("tie", h.Ties), ("loss", h.Losses) })
            {
                var (rate, low, high) = h.Share(count);
                table.AddRow(name, count.ToString(), Markup.Escape($"{100 * rate:F1} [{100 * low:F1}, {100 * high:F1}]"));
            }
            var console = CliConsole.Out();
            console.Write(table);
            var (winLow, winHigh) = h.WinRateInterval;
            console.MarkupLine($"win rate (ties half): [bold]{100 * h.WinRate:F1}%[/] [[{100 * winLow:F1}, {100 * winHigh:F1}]]; mean preference for A " +
                $"{100 * h.MeanPreference:F1}%, length-controlled {100 * h.LengthControlled:F1}%; mean length A {h.MeanLengthA:F0}, B {h.MeanLengthB:F0} characters");
            if (h.LengthControlledSuspect)
                console.MarkupLine($"[yellow]warning:[/] the length-controlled rate ({100 * h.LengthControlled:F1}%) is far from the raw one; the fit is likely extrapolating past the length differences it saw");
            console.MarkupLine($"wrote [bold]{Markup.Escape(job.Output)}[/]");
            return 0;
        });
        return command;
    }
}
