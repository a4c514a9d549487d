/**
 * The most frequent function words of the Latin-script languages query understanding tells apart. They
 * serve twice: as language profiles (a question is mostly made of them) and, once the language is known,
 * to pick a turn's key terms (what is left when they are taken out).
 */
export const STOP_WORD_LANGUAGES = ['en', 'de', 'fr', 'es', 'it', 'pt', 'nl'] as const;
export type StopWordLanguage = (typeof STOP_WORD_LANGUAGES)[number];

const words = (list: string) => new Set(list.split(/\s+/).filter(Boolean));

export const STOP_WORDS: Readonly<Record<StopWordLanguage, ReadonlySet<string>>> = {
  en: words(`
    the a an and or but of to in on at for with by from about as into than then so if not no
    is are was were be been being am do does did done have has had can could will would shall should
    may might must what which who whom whose when where why how this that these those there here
    it its i me my we our you your he him his she her they them their all any some more most
    other such only also very just too up out over after before between during again once both each
    few many much same own nor off under until while because against through whether tell explain
  `),
  de: words(`
    der die das den dem des ein eine einer eines einem einen und oder aber nicht kein keine keinen
    ist sind war waren wird werden wurde wurden sein bin bist hat haben hatte hatten kann können
    konnte muss müssen soll sollte will wollen ich du er sie es wir ihr mich dich sich uns euch mein
    dein sein ihr unser euer was wer wie wo wann warum welche welcher welches wieso weshalb woher wohin
    mit von zu zum zur bei nach aus für über unter auf an in im am vom durch gegen ohne um bis seit
    auch noch schon nur sehr dass wenn weil ob als denn doch also dieser diese dieses jener man viel
    mehr gibt gab
  `),
  fr: words(`
    le la les un une des du de d l et ou mais ne pas plus ni car donc est sont était étaient être
    été a ai as avons avez ont avait fait faire peut peuvent pourquoi comment quand où qui que quoi
    quel quelle quels quelles je tu il elle on nous vous ils elles me te se moi toi lui leur leurs
    mon ma mes ton ta tes son sa ses notre nos votre vos ce cet cette ces dans sur sous avec sans
    pour par chez entre vers au aux en y si aussi très tout tous toute toutes même bien c qu n
  `),
  es: words(`
    el la los las un una unos unas a de del al y o pero no ni que qué es son era eran ser fue fueron
    está están estar ha han haber hay había tiene tienen tener puede pueden cómo cuándo dónde por
    porqué quién quiénes cuál cuáles cuánto yo tú él ella nosotros vosotros ellos ellas me te se nos
    os le les lo mi mis tu tus su sus nuestro este esta estos estas ese esa esos esas en con sin
    para sobre entre hasta desde hacia también muy más menos todo todos toda todas como cuando donde
  `),
  it: words(`
    il lo la i gli le un uno una di del dello della dei degli delle a al allo alla ai agli alle da
    dal dalla in nel nella nei con su sul sulla per tra fra e ed o ma non né che chi cosa come
    quando dove perché quale quali quanto è sono era erano essere stato stata ha hanno avere aveva
    può possono io tu lui lei noi voi loro mi ti si ci vi mio mia tuo tua suo sua nostro questo
    questa questi queste quello quella anche molto più meno tutto tutti sempre già ancora se cui
    qual dell nell sull dall
  `),
  pt: words(`
    o a os as um uma uns umas de do da dos das em no na nos nas por pelo pela pelos pelas com sem
    para sobre entre até e ou mas não nem que quê é são era eram ser foi foram está estão estar tem
    têm ter há havia pode podem como quando onde porque porquê quem qual quais quanto eu tu ele ela
    nós vós eles elas me te se lhe lhes meu minha seu sua nosso este esta estes estas esse essa isso
    isto aquele também muito mais menos todo todos toda todas já ainda ao aos à às
  `),
  nl: words(`
    de het een en of maar niet geen is zijn was waren wordt worden werd werden ben bent heeft hebben
    had hadden kan kunnen kon moet moeten zal zullen wil willen ik jij je hij zij ze wij we jullie
    mij me hem haar ons hun mijn jouw zijn wat wie hoe waar wanneer waarom welke welk van voor
    met naar op aan in uit bij over onder door tegen zonder tot om dat die dit deze er ook nog al
    wel heel veel meer dan als omdat want dus toch hoeveel
  `),
};
