using System.CommandLine;
using System.Text.Json;
using SelfAlign.Text;

namespace SelfAlign.Cli.Commands;

/// <summary><c>selfalign template</c>: the exact string a conversation becomes under the model's chat template.</summary>
internal static class TemplateCommand
{
    public static Command Create()
    {
        var model = CliOptions.Model("A model folder, or a folder holding only the tokenizer files.");
        var messages = new Option<FileInfo>("--messages") { Description = "JSON file: a list of {role, content} messages.", Required = true };
        var generation = new Option<bool>("--generation-prompt") { Description = "Append the header that opens the assistant's turn." };
        var ids = new Option<bool>("--ids") { Description = "Also print the token ids of the rendered text." };
        var templateArgs = CliOptions.TemplateArgs();
        var command = new Command("template", "Render messages with the model's chat template (ChatML when it has none).")
        {
            model, messages, generation, ids, templateArgs,
        };
        command.SetAction(parse =>
        {
            var tokenizer = Tokenizer.Load(parse.GetRequiredValue(model).FullName);
            var file = parse.GetRequiredValue(messages).FullName;
            var json = Data.JsonRecords.ReadDocument(file);
            if (json.ValueKind == JsonValueKind.Object && json.TryGetProperty("messages", out var inner)) json = inner;
            if (json.ValueKind != JsonValueKind.Array)
                throw new Data.DataFormatException(file, 1, "expected a list of {\"role\", \"content\"} messages, or an object with one under \"messages\"");
            int index = 0;
            foreach (var m in json.EnumerateArray())
            {
                if (m.ValueKind != JsonValueKind.Object || !m.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String)
                    throw new Data.DataFormatException(file, 1, $"messages[{index}] needs a string 'role'");
                index++;
            }
            var template = ChatTemplate.For(tokenizer);
            if (template.IsFallback) Console.Error.WriteLine("note: the model ships no chat template; using ChatML");
            string text = template.Render(json, parse.GetValue(generation), CliOptions.ParseTemplateArgs(parse.GetValue(templateArgs)));
            Console.Out.Write(text);
            if (parse.GetValue(ids)) Console.Out.WriteLine("\n" + JsonSerializer.Serialize(tokenizer.Encode(text)));
            return 0;
        });
        return command;
    }
}
