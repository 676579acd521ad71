from mtbert.text.tokenizer import Tokenizer


def test_single_and_pair_encoding_with_token_types(tiny_checkpoint_dir):
    tok = Tokenizer.from_checkpoint(tiny_checkpoint_dir, max_length=32)
    single = tok.encode(["The film was GOOD."])[0]
    assert tok.tokens("The film was GOOD.") == ["[CLS]", "the", "film", "was", "good", ".", "[SEP]"]
    assert single.token_type_ids == [0] * 7
    pair = tok.encode(["how to learn python?"], ["best way to learn java?"])[0]
    ids = pair.input_ids
    assert ids[0] == tok.cls_id and ids.count(tok.sep_id) == 2 and ids[-1] == tok.sep_id
    first_sep = ids.index(tok.sep_id)
    assert pair.token_type_ids == [0] * (first_sep + 1) + [1] * (len(ids) - first_sep - 1)


def test_truncation_keeps_special_tokens_and_trims_the_longer_side(tiny_checkpoint_dir):
    tok = Tokenizer.from_checkpoint(tiny_checkpoint_dir, max_length=10)
    long = " ".join(["good"] * 30)
    single = tok.encode([long])[0].input_ids
    assert len(single) == 10 and single[0] == tok.cls_id and single[-1] == tok.sep_id
    pair = tok.encode([long], ["bad film"])[0]
    assert len(pair.input_ids) == 10
    assert pair.token_type_ids.count(1) == 3  # "bad film [SEP]" survives whole: longest-first trims the long side


def test_unknown_words_become_unk_and_lowercasing_follows_config(tiny_checkpoint_dir):
    tok = Tokenizer.from_checkpoint(tiny_checkpoint_dir)
    assert tok.tokens("Zebra") == ["[CLS]", "[UNK]", "[SEP]"]
    assert tok.tokens("FILMs") == ["[CLS]", "film", "##s", "[SEP]"]
