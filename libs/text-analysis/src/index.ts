/**
 * Text analysis: the one English analyzer (normalise, tokenise, drop stop words, stem) that the lexical
 * index, the query side, the extractive answerer and the hashing embedder must all share.
 */
export {
  type Analyzer,
  type TokenVisitor,
  englishAnalyzer,
  forEachEnglishToken,
  termFrequencies,
} from './analyzer.js';
