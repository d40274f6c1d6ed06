// The personality picker of a new chat: built-in and the user's own personalities
// (/api/v1/personalities); the choice is sent as ``personalityId`` with the first message.
import { api } from "./api.js";

export class PersonalityPicker {
  constructor() {
    this.box = document.getElementById("persona");
    this.select = document.getElementById("personality");
    this.prompt = document.getElementById("personality-prompt");
    this.prompts = new Map();
    this.loaded = false;
    this.wanted = false;
    this.select.addEventListener("change", () => this.describe());
  }

  /** Fill the list; without it (an error) the picker stays hidden and chats use the default. */
  async load() {
    try {
      const { personalities } = await api("/personalities");
      for (const personality of personalities) {
        const option = document.createElement("option");
        option.value = personality.id;
        option.textContent = personality.name;
        this.select.append(option);
        this.prompts.set(personality.id, personality.system_prompt);
      }
      this.loaded = personalities.length > 0;
    } catch {
      this.loaded = false;
    }
    this.show(this.wanted);
  }

  /** Show the picker (a new chat) or hide it (a conversation has its personality already). */
  show(visible) {
    this.wanted = visible;
    this.box.hidden = !(visible && this.loaded);
  }

  /** The chosen personality's id, or undefined for the default. */
  value() {
    return this.select.value || undefined;
  }

  describe() {
    this.prompt.textContent = this.prompts.get(this.select.value) ?? "";
  }
}
