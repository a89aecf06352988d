using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Data;
using SelfAlign.IO;
using SelfAlign.Text;

namespace SelfAlign.Cli.Commands;

/// <summary><c>selfalign tokenize</c>: token ids of a text, or of every row of a JSONL file.</summary>
internal static class TokenizeCommand
{
    public static Command Create()
    {
        var model = CliOptions.Model("A model folder, or a folder holding only the tokenizer files.");
        var text = new Argument<string?>("text") { Description = "Text to encode.", Arity = ArgumentArity.ZeroOrOne };
        var jsonl = new Option<FileInfo?>("--jsonl") { Description = "Encode the 'text' field of every row of this JSONL file." };
        var output = new Option<FileInfo?>("--out") { Description = "With --jsonl: write the rows here instead of standard output." };
        var addSpecial = new Option<bool>("--add-special-tokens") { Description = "Add what the tokenizer puts around a sequence (e.g. bos)." };
        var splitSpecial = new Option<bool>("--split-special-tokens") { Description = "Encode special tokens written in the text as plain text." };
        var overwrite = CliOptions.Overwrite();
        var command = new Command("tokenize", "Print the token ids of a text, or write {text, ids} rows for a JSONL file.")
        {
            model, text, jsonl, output, addSpecial, splitSpecial, overwrite,
        };
        command.SetAction(parse =>
        {
            var tokenizer = Tokenizer.Load(parse.GetRequiredValue(model).FullName);
            bool add = parse.GetValue(addSpecial), allow = !parse.GetValue(splitSpecial);
            if (parse.GetValue(jsonl) is FileInfo file)
            {
                if (parse.GetValue(text) is not null) throw new UsageException("give either TEXT or --jsonl, not both");
                EncodeFile(tokenizer, parse.GetRequiredValue(model).FullName, file.FullName, parse.GetValue(output)?.FullName, add, allow, parse.GetValue(overwrite));
            }
            else
            {
                string input = parse.GetValue(text) ?? throw new UsageException("give TEXT or --jsonl FILE");
                Console.Out.WriteLine(JsonSerializer.Serialize(tokenizer.Encode(input, add, allow)));
            }
            return 0;
        });
        return command;
    }

    static void EncodeFile(Tokenizer tokenizer, string model, string file, string? output, bool add, bool allow, bool overwrite)
    {
        var rows = Jsonl.Read(file).Select(r => new { text = r.String("text"), ids = tokenizer.Encode(r.String("text"), add, allow) });
        var lines = rows.Select(r => JsonSerializer.Serialize(r, JsonlAppender.RowOptions));
        if (output is null)
        {
            foreach (var line in lines) Console.Out.WriteLine(line);
            return;
        }
        // Encoding is fast and pure: the whole file is rewritten atomically rather than resumed.
        var all = lines.ToList();
        OutputGuard.ClaimFile(output, "tokenize", [new("text file", file), new("model", model)], overwrite);
        RunManifest.Write(OutputGuard.ManifestOf(output), "tokenize", new JsonObject
        {
            ["model"] = model,
            ["input"] = file,
            ["input_sha256"] = RunManifest.FileSha256(file),
            ["add_special_tokens"] = add,
            ["split_special_tokens"] = !allow,
        });
        AtomicFile.WriteAllText(output, string.Concat(all.Select(l => l + "\n")));
        Console.Error.WriteLine($"{all.Count} rows -> {output}");
    }
}
